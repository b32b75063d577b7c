// decode and decodeSync agree, and skipSpecialTokens drops every special added token, on GPT-2 (ByteLevel),
// Granite 3, a Llama-style (sentencepiece BPE with byte fallback, `normalized: true` added tokens) tokenizer
// built here, a BPE tokenizer trained by trainBpeTokenizer, and a tokenizer without a decoder.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, SHARED_DATA, seeded } from '../test/helpers.js';
import { Tokenizer } from './tokenizer.js';
import { trainBpeTokenizer } from './train-bpe.js';

const PIECES = [
  '▁',
  'h',
  'e',
  'l',
  'o',
  'w',
  'r',
  'd',
  'i',
  'he',
  'll',
  '▁he',
  'llo',
  '▁hello',
  '▁w',
  'or',
  '▁wor',
  'ld',
  '▁world',
  '▁h',
];
const MERGES = ['h e', 'l l', '▁ he', 'll o', '▁he llo', '▁ w', 'o r', '▁w or', 'l d', '▁wor ld', '▁ h'];

/**
 * A Llama-2-style tokenizer.json, as the HF conversion of a sentencepiece model writes it: `<unk>`, `<s>`, `</s>`
 * (ids 0-2), the 256 byte-fallback tokens `<0x00>`..`<0xFF>` (ids 3-258), then pieces with `▁` for spaces; the
 * normalizer prepends `▁` and turns spaces into `▁`; the decoder undoes that, fuses, and strips one leading space.
 */
function llamaStyle(normalized: boolean): object {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  for (const p of PIECES) vocab[p] = Object.keys(vocab).length;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['<unk>', '<s>', '</s>'].map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized,
      special: true,
    })),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: MERGES,
    },
  };
}

/** A word-level tokenizer without a decoder: the library joins tokens with spaces. */
const NO_DECODER = {
  version: '1.0',
  added_tokens: [
    {
      id: 0,
      content: '[UNK]',
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    },
    {
      id: 1,
      content: '[SEP]',
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: true,
      special: true,
    },
  ],
  normalizer: null,
  pre_tokenizer: { type: 'Whitespace' },
  post_processor: null,
  decoder: null,
  model: { type: 'WordLevel', vocab: { '[UNK]': 0, '[SEP]': 1, hello: 2, world: 3 }, unk_token: '[UNK]' },
};

/** Random id sequences with special ids sprinkled in, checked against decode in both modes. */
async function expectAgree(tok: Tokenizer, seed: number): Promise<void> {
  const rand = seeded(seed);
  const specials = [...tok.specialIds];
  for (let i = 0; i < 60; i++) {
    const ids = Array.from({ length: 1 + Math.floor(rand() * 30) }, () =>
      specials.length && rand() < 0.2
        ? specials[Math.floor(rand() * specials.length)]!
        : Math.floor(rand() * tok.vocabSize),
    );
    for (const skipSpecialTokens of [false, true]) {
      const want = await tok.decode(ids, { skipSpecialTokens });
      expect(tok.decodeSync(ids, { skipSpecialTokens })).toBe(want);
      expect((await tok.decodeBatch([ids], { skipSpecialTokens }))[0]).toBe(want);
    }
    const kept = ids.filter((id) => !tok.specialIds.has(id));
    expect(await tok.decode(ids, { skipSpecialTokens: true })).toBe(await tok.decode(kept));
  }
}

describe('decode', () => {
  for (const normalized of [true, false]) {
    it(`decodes a Llama-style tokenizer as its file means, with normalized: ${normalized} added tokens`, async () => {
      const tok = Tokenizer.fromJSON(llamaStyle(normalized));
      const ids = (await tok.encode('hello world hi ✓', { addSpecialTokens: true })).ids;
      // <s> ▁hello ▁world ▁h i ▁ <0xE2> <0x9C> <0x93>: the post-processor's BOS, merges, byte fallback.
      expect(ids).toEqual([1, 272, 277, 278, 267, 259, 229, 159, 150]);
      const withEos = [...ids, 2];
      // The decoder sees every token: "▁" becomes " ", bytes become "✓", and Strip removes one leading space,
      // which here is not at the start because "<s>" is.
      expect(await tok.decode(withEos)).toBe('<s> hello world hi ✓</s>');
      expect(await tok.decode(withEos, { skipSpecialTokens: true })).toBe('hello world hi ✓');
      expect(tok.decodeSync(withEos)).toBe('<s> hello world hi ✓</s>');
      expect(tok.decodeSync(withEos, { skipSpecialTokens: true })).toBe('hello world hi ✓');
      expect(await tok.decodeBatch([withEos, [2, 1]], { skipSpecialTokens: true })).toEqual([
        'hello world hi ✓',
        '',
      ]);
      // A byte run split by a special token decodes like the library does: each part on its own.
      expect(await tok.decode([229, 159, 150, 1, 229, 159])).toBe('✓<s>��');
      await expectAgree(tok, normalized ? 1 : 2);
    });
  }

  it('joins tokens with spaces when the tokenizer has no decoder', async () => {
    const tok = Tokenizer.fromJSON(NO_DECODER);
    expect(await tok.decode([2, 1, 3])).toBe('hello [SEP] world');
    expect(tok.decodeSync([2, 1, 3])).toBe('hello [SEP] world');
    expect(await tok.decode([2, 1, 3], { skipSpecialTokens: true })).toBe('hello world');
    expect(tok.decodeSync([2, 1, 3], { skipSpecialTokens: true })).toBe('hello world');
    await expectAgree(tok, 3);
  });

  it('agrees on a BPE tokenizer trained by trainBpeTokenizer', async () => {
    const tok = await trainBpeTokenizer({
      texts: ['hello world, hello there', 'the quick brown fox jumps over the lazy dog ✓ 你好'],
      vocabSize: 300,
    });
    await expectAgree(tok, 4);
  });

  it.skipIf(!HAS_SHARED)(
    'agrees on GPT-2 and Granite 3 (skipped without ../shared/data)',
    async () => {
      for (const [name, seed] of [
        ['gpt2', 5],
        ['granite-3', 6],
      ] as const) {
        const tok = await Tokenizer.fromPretrained(join(SHARED_DATA, 'tokenizers', name));
        await expectAgree(tok, seed);
        const eos = tok.eos ?? { id: 50256, token: '<|endoftext|>' };
        const ids = [...(await tok.encode('Hello world', { addSpecialTokens: false })).ids, eos.id];
        expect(await tok.decode(ids)).toBe(`Hello world${eos.token}`);
        expect(tok.decodeSync(ids, { skipSpecialTokens: true })).toBe('Hello world');
      }
    },
    60_000,
  );
});
