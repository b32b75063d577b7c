// The result of encoding one text: ids, attention mask, tokens and offsets in JavaScript string units.
import type { Encoding as RawEncoding } from 'tokenizers';

/** `[start, end)` of a token in the input string, in UTF-16 code units (JavaScript string indices). */
export type Offset = [start: number, end: number];

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * The `tokenizers` library reports offsets in Unicode scalar values (Rust chars); JavaScript indexes
 * strings in UTF-16 code units. They differ only after a character outside the BMP (emoji, rare CJK),
 * which takes two units: this maps scalar index -> UTF-16 index for such strings.
 */
export function scalarToUtf16Offsets(text: string, offsets: number[][]): Offset[] {
  if (!SURROGATE.test(text)) return offsets.map((o) => [o[0]!, o[1]!]);
  const map: number[] = [];
  let unit = 0;
  for (const ch of text) {
    map.push(unit);
    unit += ch.length;
  }
  map.push(unit);
  const at = (i: number) => map[Math.min(i, map.length - 1)]!;
  return offsets.map((o) => [at(o[0]!), at(o[1]!)]);
}

/**
 * One encoded sequence. `ids` is read eagerly; the other fields are computed on first use, so
 * code that needs only ids pays nothing for offsets or token strings.
 */
export class Encoding {
  readonly ids: number[];
  private cache: { attentionMask?: number[]; tokens?: string[]; offsets?: Offset[]; special?: number[] } = {};

  constructor(
    private readonly raw: RawEncoding,
    /** The text that was encoded; offsets index into it. */
    readonly text: string,
    private readonly specialIds: ReadonlySet<number>,
  ) {
    this.ids = raw.getIds();
  }

  get length(): number {
    return this.ids.length;
  }

  /** 1 for real tokens, 0 for padding. */
  get attentionMask(): number[] {
    this.cache.attentionMask ??= this.raw.getAttentionMask();
    return this.cache.attentionMask;
  }

  /** 1 for special tokens (added by the post-processor, matched in the text, or padding), else 0. */
  get specialTokensMask(): number[] {
    this.cache.special ??= this.ids.map((id) => (this.specialIds.has(id) ? 1 : 0));
    return this.cache.special;
  }

  /** Token strings as the vocabulary spells them (byte-level tokens show `Ġ` for a space). */
  get tokens(): string[] {
    this.cache.tokens ??= this.raw.getTokens();
    return this.cache.tokens;
  }

  /** `[start, end)` of each token in `text`, in UTF-16 units; `[0, 0]` for added and padding tokens. */
  get offsets(): Offset[] {
    this.cache.offsets ??= scalarToUtf16Offsets(this.text, this.raw.getOffsets());
    return this.cache.offsets;
  }

  /**
   * `offsets[i]` without reading the others: one native call, where `offsets` builds a pair per token (most of a
   * chat batch's JavaScript time when only a few are needed). Text outside the BMP reads them all once.
   */
  offsetAt(i: number): Offset {
    if (this.cache.offsets || SURROGATE.test(this.text)) return this.offsets[i]!;
    const o = this.raw.tokenToChars(i);
    return o ? [o[0], o[1]] : [0, 0];
  }
}
