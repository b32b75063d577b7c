import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BPE, byteLevelPreTokenizer, Tokenizer as RawTokenizer } from 'tokenizers';
import { describe, expect, it } from 'vitest';
import { randomUnicode, SHARED_DATA, SKIP_SHARED, seeded } from '../test/helpers.js';
import { learnBpeMerges } from './bpe-merges.js';
import { countWords } from './train-bpe.js';

const NO_EXTRAS = { vocabSize: 30_000, specialTokens: [], initialAlphabet: [] };

/** Trains with the tokenizers library's own BPE trainer (its defaults: vocab 30000, min frequency 0). */
async function referenceTrain(file: string): Promise<{ vocab: Record<string, number>; merges: string[] }> {
  const raw = new RawTokenizer(BPE.empty());
  raw.setPreTokenizer(byteLevelPreTokenizer(false, true));
  raw.train([file]);
  const out = `${file}.tokenizer.json`;
  raw.save(out);
  const model = JSON.parse(await readFile(out, 'utf8')).model;
  return {
    vocab: model.vocab,
    merges: model.merges.map((m: string | string[]) => (Array.isArray(m) ? m.join(' ') : m)),
  };
}

async function expectSameAsReference(text: string): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'loralab-bpe-'));
  try {
    const file = join(dir, 'corpus.txt');
    await writeFile(file, text);
    const expected = await referenceTrain(file);
    const { vocab, merges } = learnBpeMerges(await countWords({ files: [file] }), {
      ...NO_EXTRAS,
      minFrequency: 0,
    });
    expect(Object.fromEntries(vocab)).toEqual(expected.vocab);
    expect(merges.map((m) => m.join(' '))).toEqual(expected.merges);
    return merges.length;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('learnBpeMerges', () => {
  it("reproduces the tokenizers library's own trainer test (vocab and merge ranks)", () => {
    const counts = new Map(
      Object.entries({
        roses: 1,
        are: 2,
        red: 1,
        voilets: 1,
        blue: 1,
        BERT: 1,
        is: 2,
        big: 1,
        and: 1,
        so: 1,
        'GPT-2': 1,
      }),
    );
    const { vocab, merges } = learnBpeMerges(counts, { ...NO_EXTRAS, minFrequency: 2 });
    const alphabet = '-2BEGPRTabdeginorstuv'.split('');
    expect([...vocab.keys()]).toEqual(
      [...alphabet.slice(0, 14), 'l', ...alphabet.slice(14), 're', 'are', 'is'].sort(
        (a, b) => vocab.get(a)! - vocab.get(b)!,
      ),
    );
    expect(Object.fromEntries(vocab)).toMatchObject({
      '-': 0,
      '2': 1,
      a: 8,
      l: 14,
      v: 21,
      re: 22,
      are: 23,
      is: 24,
    });
    expect(merges).toEqual([
      ['r', 'e'],
      ['a', 're'],
      ['i', 's'],
    ]);
  });

  it('matches the tokenizers library trainer exactly on generated multilingual text', async () => {
    const rand = seeded(11);
    const words = [
      'the',
      'cat',
      'sat',
      'on',
      'mat',
      'mathematics',
      'theorem',
      'lemma',
      'def',
      'return',
      '42',
      'naïve',
    ];
    let text = '';
    for (let line = 0; line < 400; line++) {
      const n = 3 + Math.floor(rand() * 12);
      for (let i = 0; i < n; i++)
        text += `${i ? ' ' : ''}${rand() < 0.9 ? words[Math.floor(rand() * words.length)] : randomUnicode(rand, 6)}`;
      text += rand() < 0.1 ? '\n\n' : '\n';
    }
    expect(await expectSameAsReference(text)).toBeGreaterThan(100);
  });

  it.skipIf(SKIP_SHARED)('matches the tokenizers library trainer exactly on GSM8K questions', async () => {
    const lines = (await readFile(join(SHARED_DATA, 'gsm8k/train.jsonl'), 'utf8')).split('\n').slice(0, 1500);
    const text = lines.map((l) => (l ? `${JSON.parse(l).question}\n` : '')).join('');
    expect(await expectSameAsReference(text)).toBeGreaterThan(3000);
  });

  it('respects vocabSize, minFrequency, special tokens first and maxTokenLength', () => {
    const counts = new Map([
      ['singlelongtokenwithoutcasechange', 2],
      ['짧은한글문자열짧은한', 2],
      ['长字符串长字符串长字符串长字符串', 2],
      ['xyz', 1],
    ]);
    const learned = learnBpeMerges(counts, {
      vocabSize: 1000,
      minFrequency: 2,
      specialTokens: ['<s>', '</s>'],
      initialAlphabet: ['z'],
      maxTokenLength: 5,
    });
    expect(learned.vocab.get('<s>')).toBe(0);
    expect(learned.vocab.get('</s>')).toBe(1);
    expect(learned.vocab.has('z')).toBe(true);
    for (const token of learned.vocab.keys())
      if (!token.startsWith('<')) expect([...token].length).toBeLessThanOrEqual(5);
    expect(learned.vocab.has('xy')).toBe(false); // 'xyz' occurs once: below minFrequency
    const small = learnBpeMerges(counts, {
      vocabSize: 40,
      minFrequency: 0,
      specialTokens: [],
      initialAlphabet: [],
    });
    expect(small.vocab.size).toBe(40);
  });
});
