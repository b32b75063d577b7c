import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer as RawTokenizer } from 'tokenizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomUnicode, SHARED_DATA, SKIP_SHARED, seeded } from '../test/helpers.js';
import { byteLevelTokenBytes } from './byte-level.js';
import { TokenizerError } from './errors.js';
import { Tokenizer } from './tokenizer.js';

const FIXED = [
  'Hello world',
  'The quick brown fox jumps over the lazy dog.',
  '  leading spaces, trailing  \n\nand\ttabs\r\n',
  'def add(a, b):\n    return a + b\n',
  'Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.',
  'naïve café — “quotes” … 1,234.56 ½',
  '你好，世界。こんにちは 안녕하세요',
  'emoji 🤗🚀👩‍👩‍👧 and flags 🇫🇷',
  'combining: e\u0301 a\u0308 \u0915\u094d\u0937',
  'control\u0000chars\u001b[0m\u007f',
  '',
];

describe.skipIf(SKIP_SHARED)('real Hugging Face tokenizers', () => {
  let gpt2: Tokenizer;
  let granite: Tokenizer;
  const gpt2File = join(SHARED_DATA, 'tokenizers/gpt2/tokenizer.json');
  const graniteFile = join(SHARED_DATA, 'tokenizers/granite-3/tokenizer.json');
  beforeAll(async () => {
    gpt2 = await Tokenizer.fromPretrained(join(SHARED_DATA, 'tokenizers/gpt2'));
    granite = await Tokenizer.fromPretrained(join(SHARED_DATA, 'tokenizers/granite-3'));
  });

  it('gives the ids that the tokenizers library gives for the same file (merges as strings and as pairs)', async () => {
    for (const [ours, file] of [
      [gpt2, gpt2File],
      [granite, graniteFile],
    ] as const) {
      const raw = RawTokenizer.fromFile(file);
      for (const text of FIXED) {
        const expected = (await raw.encode(text, null, { addSpecialTokens: false })).getIds();
        expect(
          (await ours.encode(text, { addSpecialTokens: false })).ids,
          `${file}: ${JSON.stringify(text)}`,
        ).toEqual(expected);
      }
    }
  });

  it('matches published GPT-2 ids', async () => {
    expect((await gpt2.encode('Hello world', { addSpecialTokens: false })).ids).toEqual([15496, 995]);
    expect((await gpt2.encode(' the', { addSpecialTokens: false })).ids).toEqual([262]);
    expect(gpt2.tokenToId('<|endoftext|>')).toBe(50256);
    expect(gpt2.vocabSize).toBe(50257);
  });

  it('reads special tokens and the chat template from tokenizer_config.json', () => {
    expect(granite.eos).toEqual({ token: '<|end_of_text|>', id: 0 });
    expect(granite.pad?.id).toBe(0);
    expect(granite.chatTemplate()).toContain('<|assistant|>');
    expect(granite.specialTokens.get('<|start_of_role|>')?.id).toBe(49152);
    expect(gpt2.bos).toBeNull(); // no tokenizer_config.json beside it
  });

  it('encodes special-token text in content as plain text unless allowed', async () => {
    const text = 'Hi <|end_of_text|> there';
    const plain = await granite.encode(text, { addSpecialTokens: false });
    expect(plain.ids).not.toContain(0);
    expect(await granite.decode(plain.ids)).toBe(text);
    const control = await granite.encode(text, { addSpecialTokens: false, allowSpecial: true });
    expect(control.ids).toContain(0);
    expect(control.specialTokensMask[control.ids.indexOf(0)]).toBe(1);
    expect((await gpt2.encode('<|endoftext|>', { addSpecialTokens: false })).ids).not.toContain(50256);
    expect((await gpt2.encode('<|endoftext|>', { addSpecialTokens: false, allowSpecial: true })).ids).toEqual(
      [50256],
    );
  });

  it('reports offsets in JavaScript string units, also after characters outside the BMP', async () => {
    const text = 'a 🤗 b 𠀀c é\u{1F468}\u200D\u{1F469} z';
    const enc = await gpt2.encode(text, { addSpecialTokens: false });
    expect(enc.offsets.length).toBe(enc.ids.length);
    const utf8 = new TextEncoder();
    for (const [i, [s, e]] of enc.offsets.entries()) {
      // A token's bytes lie within the UTF-8 bytes of the text its offsets cover.
      const covered = Buffer.from(utf8.encode(text.slice(s, e)));
      const bytes = Buffer.from(byteLevelTokenBytes(enc.tokens[i]!)!);
      expect(covered.includes(bytes), `token ${i} ${enc.tokens[i]} at [${s}, ${e})`).toBe(true);
    }
    expect(enc.offsets.at(-1)).toEqual([text.length - 2, text.length]);
    expect(enc.offsets[0]).toEqual([0, 1]);
  });

  it('round-trips arbitrary Unicode: decode(encode(x)) === x', async () => {
    const rand = seeded(7);
    for (let i = 0; i < 300; i++) {
      const text = randomUnicode(rand);
      for (const tok of [gpt2, granite]) {
        const ids = (await tok.encode(text, { addSpecialTokens: false })).ids;
        expect(await tok.decode(ids)).toBe(text);
      }
    }
  });

  it('pads batches right or left with attention masks, and truncates keeping added tokens', async () => {
    const texts = ['a b c d e f', 'short', 'a much much longer sentence than the others here'];
    const right = await granite.encodeBatch(texts, { addSpecialTokens: false, padding: 'longest' });
    const max = Math.max(...right.map((e) => e.attentionMask.filter((m) => m === 1).length));
    for (const e of right) {
      expect(e.ids.length).toBe(max);
      const real = e.attentionMask.indexOf(0) < 0 ? e.ids.length : e.attentionMask.indexOf(0);
      expect(e.attentionMask.slice(real).every((m) => m === 0)).toBe(true);
      expect(e.ids.slice(real).every((id) => id === granite.pad!.id)).toBe(true);
    }
    const left = await granite.encodeBatch(texts, {
      addSpecialTokens: false,
      padding: 8,
      paddingSide: 'left',
      padToMultipleOf: 8,
    });
    expect(left[1]!.ids.length).toBe(8);
    expect(left[1]!.attentionMask[0]).toBe(0);
    expect(left[1]!.attentionMask.at(-1)).toBe(1);
    const single = await Promise.all(texts.map((t) => granite.encode(t, { addSpecialTokens: false })));
    expect(left[1]!.ids.slice(8 - single[1]!.length)).toEqual(single[1]!.ids);
  });

  it('names the file and the problem when tokenizer files are missing or malformed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'loralab-tok-'));
    try {
      await expect(Tokenizer.fromPretrained(dir)).rejects.toThrow(/tokenizer\.json: file not found/);
      const malformed = join(SHARED_DATA, 'instruct/malformatted_data.json');
      const err = await Tokenizer.fromPretrained(malformed).catch((e) => e);
      expect(err).toBeInstanceOf(TokenizerError);
      expect(err.file).toBe(malformed);
      expect(err.message).toMatch(/malformed JSON/);

      await writeFile(
        join(dir, 'tokenizer.json'),
        '{"version": "1.0", "model": {"type": "BPE", "vocab": 3}}',
      );
      await expect(Tokenizer.fromPretrained(dir)).rejects.toThrow(/tokenizers library rejected/);
      await writeFile(join(dir, 'tokenizer.json'), '[1, 2]');
      await expect(Tokenizer.fromPretrained(dir)).rejects.toThrow(/not a Hugging Face tokenizer\.json/);

      // A good tokenizer.json with a bad tokenizer_config.json beside it.
      const { readFile } = await import('node:fs/promises');
      await writeFile(
        join(dir, 'tokenizer.json'),
        await readFile(join(SHARED_DATA, 'tokenizers/gpt2/tokenizer.json')),
      );
      await writeFile(join(dir, 'tokenizer_config.json'), await readFile(malformed));
      await expect(Tokenizer.fromPretrained(dir)).rejects.toThrow(/tokenizer_config\.json: malformed JSON/);
      await writeFile(join(dir, 'tokenizer_config.json'), '{"chat_template": 3}');
      await expect(Tokenizer.fromPretrained(dir)).rejects.toThrow(/"chat_template" must be a string/);
      await writeFile(join(dir, 'tokenizer_config.json'), '{"eos_token": "<|not-a-token|>"}');
      await expect(Tokenizer.fromPretrained(dir)).rejects.toThrow(
        /eos_token "<\|not-a-token\|>" .* not in the vocabulary/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('decodes synchronously exactly as decode does', async () => {
    const rand = seeded(21);
    for (const tok of [gpt2, granite]) {
      for (let i = 0; i < 100; i++) {
        const text = `${randomUnicode(rand)}<|end_of_text|>${randomUnicode(rand)}<|endoftext|>`;
        const ids = (await tok.encode(text, { addSpecialTokens: true, allowSpecial: true })).ids;
        for (const skipSpecialTokens of [false, true]) {
          expect(tok.decodeSync(ids, { skipSpecialTokens })).toBe(
            await tok.decode(ids, { skipSpecialTokens }),
          );
        }
      }
      // Arbitrary id sequences too, including ones that split characters.
      const ids = Array.from({ length: 200 }, () => Math.floor(rand() * tok.vocabSize));
      expect(tok.decodeSync(ids)).toBe(await tok.decode(ids));
    }
    expect(() => gpt2.decodeSync([50257])).toThrow(/cannot decode id 50257/);
  });

  it('rejects ids outside the vocabulary when decoding', async () => {
    await expect(gpt2.decode([15496, 50257])).rejects.toThrow(/cannot decode id 50257 at index 1/);
    await expect(gpt2.decode([1.5])).rejects.toThrow(TokenizerError);
  });

  it('saves and reloads unchanged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'loralab-tok-'));
    try {
      await granite.save(dir);
      const again = await Tokenizer.fromPretrained(dir);
      expect(again.chatTemplate()).toBe(granite.chatTemplate());
      for (const text of FIXED) {
        expect((await again.encode(text, { addSpecialTokens: true })).ids).toEqual(
          (await granite.encode(text, { addSpecialTokens: true })).ids,
        );
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
