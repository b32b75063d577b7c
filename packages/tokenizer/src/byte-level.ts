// Byte-level pre-tokenization (GPT-2's regex split, then bytes shown as printable characters), as the
// `tokenizers` library's ByteLevel pre-tokenizer does with add_prefix_space=false and use_regex=true.
import { byteLevelPreTokenizer } from 'tokenizers';

/** GPT-2's split pattern; HF's ByteLevel pre-tokenizer uses the same one. */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const ASCII = /^[\x00-\x7f]*$/;

/** GPT-2's bytes_to_unicode: byte -> the printable character that stands for it in the vocabulary. */
const BYTE_CHAR: string[] = (() => {
  const bytes: number[] = [];
  for (let b = 33; b <= 126; b++) bytes.push(b);
  for (let b = 161; b <= 172; b++) bytes.push(b);
  for (let b = 174; b <= 255; b++) bytes.push(b);
  const chars = [...bytes];
  let shift = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b);
      chars.push(256 + shift++);
    }
  }
  const table: string[] = [];
  bytes.forEach((b, i) => {
    table[b] = String.fromCharCode(chars[i]!);
  });
  return table;
})();

const CHAR_BYTE = new Map(BYTE_CHAR.map((ch, b) => [ch, b]));

/** The bytes a byte-level token stands for (`Ġthe` -> ` the`); null if it is not a byte-level token. */
export function byteLevelTokenBytes(token: string): Uint8Array | null {
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = CHAR_BYTE.get(token[i]!);
    if (b === undefined) return null;
    bytes[i] = b;
  }
  return bytes;
}

const native = byteLevelPreTokenizer(false, true);

/**
 * Splits `text` into byte-level words. ASCII text is split here in JavaScript (7x faster than a call
 * into the native library per text); text with other characters goes to the native pre-tokenizer, whose
 * Unicode tables may differ from V8's for recently assigned letters, so results always match it.
 */
export function preTokenizeByteLevel(text: string): string[] {
  if (!ASCII.test(text)) return native.preTokenizeString(text).map((p) => p[0]);
  const words: string[] = [];
  for (const match of text.matchAll(GPT2_SPLIT)) {
    const w = match[0];
    let s = '';
    for (let i = 0; i < w.length; i++) s += BYTE_CHAR[w.charCodeAt(i)];
    words.push(s);
  }
  return words;
}
