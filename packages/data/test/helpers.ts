// Shared test fixtures: a small byte-level BPE tokenizer (ChatML template) trained once per process.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Tokenizer, trainBpeTokenizer } from '@loralab/tokenizer';
import { brownDocument, brownFiles } from '../src/brown.js';

let cached: Promise<Tokenizer> | undefined;

/** A 512-token BPE tokenizer trained on two Brown files. */
export function smallTokenizer(): Promise<Tokenizer> {
  cached ??= (async () => {
    const files = (await brownFiles(['a'])).slice(0, 2);
    const texts = await Promise.all(files.map(brownDocument));
    return trainBpeTokenizer({ texts, vocabSize: 512 });
  })();
  return cached;
}

export function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'loralab-data-'));
}
