// The copy diagnostic scores the right positions (checked against losses computed here from the raw logits) and
// reads about 0 for a model that cannot copy.
import { fileURLToPath } from 'node:url';
import { initBackend, LlamaForCausalLM } from '@loralab/model';
import { Tokenizer } from '@loralab/tokenizer';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { copyLoss, randomSpans, textSpans } from './copy-diagnostic.js';

const BASE = fileURLToPath(new URL('../../base', import.meta.url));
const V = 16;
const N = 8;

const tiny = (seed: number) =>
  new LlamaForCausalLM(
    {
      vocab_size: V,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      num_key_value_heads: 2,
      max_position_embeddings: 2 * N,
    },
    { seed },
  );

/** Uniform spans over the whole toy vocabulary. */
function spans(count: number, seed: number): number[][] {
  let a = seed >>> 0;
  const next = () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 4294967296;
  };
  return Array.from({ length: count }, () => Array.from({ length: N }, () => Math.floor(next() * V)));
}

/** Cross-entropy (nats) of token `row[j]` from the logits at position `j - 1`, computed here from raw logits. */
function tokenLoss(logits: Float32Array, row: number[], j: number): number {
  const at = (j - 1) * V;
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, logits[at + v]!);
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[at + v]! - max);
  return max + Math.log(sum) - logits[at + row[j]!]!;
}

describe('copyLoss', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('scores tokens 2..n of each copy, each from its own context, and leaks no tensors', () => {
    const model = tiny(1);
    const rows = spans(3, 7);
    const before = tf.memory().numTensors;
    const r = copyLoss(model, rows);
    expect(tf.memory().numTensors).toBe(before);
    let first = 0;
    let repeat = 0;
    for (const s of rows) {
      const row = [...s, ...s];
      const logits = tf.tidy(() => model.forward([row]).dataSync() as Float32Array);
      for (let j = 1; j < N; j++) first += tokenLoss(logits, row, j);
      for (let j = N + 1; j < 2 * N; j++) repeat += tokenLoss(logits, row, j);
    }
    const count = rows.length * (N - 1);
    expect(r.first).toBeCloseTo(first / count, 4);
    expect(r.repeat).toBeCloseTo(repeat / count, 4);
    expect(r.gain).toBeCloseTo(r.first - r.repeat, 10);
    expect(r.spans).toBe(3);
  });

  it('reads about 0 for a model that cannot copy (random initialisation)', () => {
    const r = copyLoss(tiny(2), spans(16, 99));
    expect(r.first).toBeGreaterThan(2); // uniform tokens: nothing predicts them
    expect(Math.abs(r.gain)).toBeLessThan(0.1);
  });

  it('refuses spans of different lengths or shorter than 2, naming the lengths', () => {
    const model = tiny(3);
    expect(() =>
      copyLoss(model, [
        [1, 2, 3],
        [1, 2],
      ]),
    ).toThrow(/lengths \[3,2\]/);
    expect(() => copyLoss(model, [[1]])).toThrow(RangeError);
    expect(() => copyLoss(model, [])).toThrow(RangeError);
  });
});

describe('copy spans', () => {
  it('random spans avoid special tokens, are reproducible from the seed; text spans keep texts long enough', async () => {
    const tok = await Tokenizer.fromPretrained(BASE);
    const special = new Set([...tok.specialTokens.values()].map((t) => t.id));
    const a = randomSpans(tok, 4, 48, 5);
    expect(a).toEqual(randomSpans(tok, 4, 48, 5));
    expect(a).not.toEqual(randomSpans(tok, 4, 48, 6));
    expect(a.flat().some((id) => special.has(id) || id < 0 || id >= tok.vocabSize)).toBe(false);
    const texts = ['short', 'The quick brown fox jumps over the lazy dog. '.repeat(10)];
    const t = await textSpans(tok, texts, 20);
    expect(t).toHaveLength(1);
    expect(t[0]).toEqual((await tok.encode(texts[1]!, { addSpecialTokens: false })).ids.slice(0, 20));
  });
});
