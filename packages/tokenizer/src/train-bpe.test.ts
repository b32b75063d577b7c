import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Tokenizer as RawTokenizer } from 'tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUnicode, seeded } from '../test/helpers.js';
import { TokenizerError } from './errors.js';
import { Tokenizer } from './tokenizer.js';
import { countWords, trainBpeTokenizer } from './train-bpe.js';

function corpus(seed: number, lines: number): string {
  const rand = seeded(seed);
  const words = [
    'alpha',
    'beta',
    'gamma',
    'delta',
    'sum',
    'of',
    'the',
    'numbers',
    'is',
    'equal',
    'to',
    'def',
    'f(x):',
  ];
  let text = '';
  for (let i = 0; i < lines; i++) {
    const n = 2 + Math.floor(rand() * 10);
    for (let j = 0; j < n; j++)
      text += `${j ? ' ' : ''}${words[Math.floor(rand() * words.length)]}${Math.floor(rand() * 100)}`;
    text += '\n';
  }
  return text;
}

describe('trainBpeTokenizer', () => {
  let dir: string;
  let file: string;
  let tok: Tokenizer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'loralab-train-'));
    file = join(dir, 'corpus.txt');
    await writeFile(file, corpus(1, 3000));
    tok = await trainBpeTokenizer({ files: [file], vocabSize: 380 });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('builds a vocabulary of exactly vocabSize with special tokens first and every byte', () => {
    expect(tok.vocabSize).toBe(380);
    expect(
      ['<|begin_of_text|>', '<|end_of_text|>', '<|pad|>', '<|im_start|>', '<|im_end|>'].map((t) =>
        tok.tokenToId(t),
      ),
    ).toEqual([0, 1, 2, 3, 4]);
    expect(tok.bos).toEqual({ token: '<|begin_of_text|>', id: 0 });
    expect(tok.eos?.id).toBe(1);
    expect(tok.pad?.id).toBe(2);
    expect(tok.idToToken(5)).toBe('!'); // the byte alphabet follows, by code point
  });

  it('adds BOS only when asked, and round-trips text never seen in training', async () => {
    const text = 'gamma7 is equal to 42';
    expect((await tok.encode(text, { addSpecialTokens: true })).ids[0]).toBe(0);
    expect((await tok.encode(text, { addSpecialTokens: false })).ids[0]).not.toBe(0);
    const rand = seeded(9);
    for (let i = 0; i < 200; i++) {
      const s = randomUnicode(rand);
      expect(await tok.decode((await tok.encode(s, { addSpecialTokens: false })).ids)).toBe(s);
    }
  });

  it('truncates to maxLength keeping BOS', async () => {
    const enc = await tok.encode(corpus(2, 5), { addSpecialTokens: true, maxLength: 7 });
    expect(enc.ids).toHaveLength(7);
    expect(enc.ids[0]).toBe(0);
    expect(await tok.numSpecialTokensToAdd()).toBe(1);
    await expect(tok.encode('x', { addSpecialTokens: true, maxLength: 1 })).rejects.toThrow(/leaves no room/);
  });

  it('saves files that the tokenizers library loads unchanged, with the same ids', async () => {
    const out = join(dir, 'saved');
    await tok.save(out);
    const raw = RawTokenizer.fromFile(join(out, 'tokenizer.json'));
    const reloaded = await Tokenizer.fromPretrained(out);
    for (const text of corpus(3, 20).split('\n')) {
      const ours = (await tok.encode(text, { addSpecialTokens: true })).ids;
      expect((await raw.encode(text, null, { addSpecialTokens: true })).getIds()).toEqual(ours);
      expect((await reloaded.encode(text, { addSpecialTokens: true })).ids).toEqual(ours);
    }
    const config = JSON.parse(await readFile(join(out, 'tokenizer_config.json'), 'utf8'));
    expect(config).toMatchObject({
      tokenizer_class: 'PreTrainedTokenizerFast',
      bos_token: '<|begin_of_text|>',
      eos_token: '<|end_of_text|>',
      pad_token: '<|pad|>',
      additional_special_tokens: ['<|im_start|>', '<|im_end|>'],
      model_max_length: 2048,
      added_tokens_decoder: { '3': { content: '<|im_start|>', special: true } },
    });
    expect(config.chat_template).toContain('<|im_start|>');
    expect(reloaded.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true })).toBe(
      '<|begin_of_text|><|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('reads .gz files and async iterables the same way', async () => {
    const gz = join(dir, 'corpus.txt.gz');
    await writeFile(gz, gzipSync(await readFile(file)));
    expect(await countWords({ files: [gz] })).toEqual(await countWords({ files: [file] }));
    async function* lines() {
      for (const line of (await readFile(file, 'utf8')).split(/(?<=\n)/)) yield line;
    }
    expect(await countWords({ texts: lines() })).toEqual(await countWords({ files: [file] }));
  });

  it('rejects bad options and bad input with a TokenizerError', async () => {
    await expect(
      trainBpeTokenizer({ files: [file], vocabSize: 1000, vocab_size: 5 } as never),
    ).rejects.toThrow(/unknown training option "vocab_size"/);
    await expect(trainBpeTokenizer({ files: [file], vocabSize: 100 })).rejects.toThrow(
      /"vocabSize" must be an integer >= 261/,
    );
    await expect(trainBpeTokenizer({ vocabSize: 1000 })).rejects.toThrow(/needs input/);
    await expect(trainBpeTokenizer({ files: [join(dir, 'missing.txt')] })).rejects.toThrow(
      /missing\.txt: cannot read/,
    );
    const bad = join(dir, 'latin1.txt');
    await writeFile(bad, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    const err = await trainBpeTokenizer({ files: [bad] }).catch((e) => e);
    expect(err).toBeInstanceOf(TokenizerError);
    expect(err.message).toMatch(/latin1\.txt: not valid UTF-8/);
  });

  it('refuses JSON Lines, JSON and Parquet files instead of training on their raw lines', async () => {
    for (const name of ['data.jsonl', 'data.json.gz', 'data.parquet']) {
      const path = join(dir, name);
      await writeFile(path, '{"text": "hello"}\n');
      const err = await trainBpeTokenizer({ files: [path] }).catch((e) => e);
      expect(err).toBeInstanceOf(TokenizerError);
      expect(err.message).toContain(`${path}: is a record file`);
      expect(err.message).toContain('--field');
    }
  });
});
