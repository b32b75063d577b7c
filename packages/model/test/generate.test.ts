// Generation (KV cache vs recomputation, left padding, sampling, stops) and continuation log-likelihoods.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  argmax,
  createRng,
  generate,
  KVCache,
  LlamaForCausalLM,
  logLikelihood,
  sampleToken,
  sampleTokens,
} from '../src/index.js';
import { BACKENDS, TINY, useBackend } from './helpers.js';

const PROMPTS = [[1, 5, 7], [2, 4, 6, 8, 10, 12], [3]];
const decode = (ids: number[]) => ids.map((i) => String.fromCharCode(97 + (i % 26))).join('');

// On native a one-prompt prefill (all-ones mask, empty cache) runs the fused kernels and fills the cache from them.
describe.each(BACKENDS.filter((b) => b !== 'cpu'))('generate on %s', (backend) => {
  let model: LlamaForCausalLM;
  beforeAll(async () => {
    await useBackend(backend);
    // eos outside the vocabulary's likely range so runs reach max tokens; larger init for peaked distributions
    model = new LlamaForCausalLM({ ...TINY, eos_token_id: null, initializer_range: 0.5 }, { seed: 11 });
  });
  afterAll(() => model.dispose());

  it('cached and uncached greedy decoding agree, batched with left padding equals one by one, no leaks', async () => {
    const before = tf.memory().numTensors;
    const cached = await generate(model, PROMPTS, { maxNewTokens: 8 });
    expect(tf.memory().numTensors).toBe(before);
    const uncached = await generate(model, PROMPTS, { maxNewTokens: 8, useCache: false });
    expect(cached.tokens).toEqual(uncached.tokens);
    expect(cached.finishReasons).toEqual(['length', 'length', 'length']);
    expect(cached.tokens.every((t) => t.length === 8)).toBe(true);
    for (const [i, p] of PROMPTS.entries()) {
      const alone = await generate(model, [p], { maxNewTokens: 8 });
      expect(alone.tokens[0]).toEqual(cached.tokens[i]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('seeded sampling is reproducible and identical with and without the cache', async () => {
    const opts = { maxNewTokens: 10, temperature: 1.5, topK: 20, topP: 0.95, seed: 5 };
    const a = await generate(model, PROMPTS, opts);
    const b = await generate(model, PROMPTS, { ...opts, useCache: false });
    const c = await generate(model, PROMPTS, { ...opts, seed: 6 });
    expect(a.tokens).toEqual(b.tokens);
    expect(a.tokens).not.toEqual(c.tokens);
    const greedy = await generate(model, PROMPTS, { maxNewTokens: 10 });
    expect(a.tokens).not.toEqual(greedy.tokens);
  });

  it('firstTokens constrains the first token only, per prompt (token healing)', async () => {
    const free = await generate(model, PROMPTS, { maxNewTokens: 5 });
    // Row 0: the greedy first token forbidden; row 1: unconstrained; row 2: a single allowed token.
    const banned = free.tokens[0]![0]!;
    const allowed0 = [banned === 3 ? 4 : 3, banned === 9 ? 10 : 9];
    const firstTokens = [allowed0, null, [17]];
    const healed = await generate(model, PROMPTS, { maxNewTokens: 5, firstTokens });
    expect(allowed0).toContain(healed.tokens[0]![0]);
    expect(healed.tokens[1]).toEqual(free.tokens[1]);
    expect(healed.tokens[2]![0]).toBe(17);
    // After the first token, decoding continues as from the prompt extended by it.
    for (const b of [0, 2]) {
      const t = healed.tokens[b]!;
      const after = await generate(model, [[...PROMPTS[b]!, t[0]!]], { maxNewTokens: 4 });
      expect(after.tokens[0]).toEqual(t.slice(1));
    }
    // Sampled: the first token is always among the allowed ones.
    for (const seed of [1, 2, 3, 4]) {
      const s = await generate(model, PROMPTS, { maxNewTokens: 2, temperature: 2, seed, firstTokens });
      expect(allowed0).toContain(s.tokens[0]![0]);
      expect(s.tokens[2]![0]).toBe(17);
    }
    await expect(generate(model, PROMPTS, { maxNewTokens: 2, firstTokens: [null] })).rejects.toThrow(
      /one entry per prompt/,
    );
    await expect(
      generate(model, PROMPTS, { maxNewTokens: 2, firstTokens: [[], null, null] }),
    ).rejects.toThrow(/firstTokens\[0\]/);
  });

  it('stops at stop tokens and stop strings', async () => {
    const greedy = await generate(model, [PROMPTS[1]!], { maxNewTokens: 6, decode });
    const toks = greedy.tokens[0]!;
    expect(greedy.texts![0]).toBe(decode(toks));
    const byToken = await generate(model, [PROMPTS[1]!], { maxNewTokens: 6, stopTokens: [toks[2]!] });
    expect(byToken.finishReasons[0]).toBe('stop_token');
    expect(byToken.tokens[0]).toEqual(toks.slice(0, toks.indexOf(toks[2]!) + 1));
    const stop = decode(toks.slice(3, 5));
    const byString = await generate(model, [PROMPTS[1]!, PROMPTS[0]!], {
      maxNewTokens: 6,
      stopStrings: [stop],
      decode,
    });
    expect(byString.finishReasons[0]).toBe('stop_string');
    const text = decode(toks);
    expect(byString.texts![0]).toBe(text.slice(0, text.indexOf(stop)));
    const kept = byString.tokens[0]!;
    expect(decode(kept).includes(stop)).toBe(true);
    expect(decode(kept.slice(0, -1)).includes(stop)).toBe(false);
  });
});

describe('sampling', () => {
  it('top-k 1 and a tiny top-p are greedy; the generator is seeded', () => {
    const row = [0.1, 2, -1, 1.9, 0.5];
    const rng = createRng(1);
    for (let i = 0; i < 20; i++) {
      expect(sampleToken(row, { temperature: 1, topK: 1 }, rng)).toBe(1);
      expect(sampleToken(row, { temperature: 1, topP: 0.01 }, rng)).toBe(1);
    }
    expect(argmax(row)).toBe(1);
    const [r1, r2] = [createRng(42), createRng(42)];
    expect([r1(), r1(), r1()]).toEqual([r2(), r2(), r2()]);
    // top-k 2 only ever picks the two best
    const picks = new Set(
      Array.from({ length: 200 }, () => sampleToken(row, { temperature: 1, topK: 2 }, rng)),
    );
    expect([...picks].sort()).toEqual([1, 3]);
  });

  it('chooses as sorting the whole vocabulary does, for every cut, with ties and peaked rows', () => {
    const { rows, cuts, gen } = samplingCases();
    let checked = 0;
    for (const row of rows) {
      for (const o of cuts) {
        const draws = [gen(), gen(), 0.999999]; // the last reaches the end of the candidates
        for (const u of draws) {
          expect(sampleToken(row, o, () => u)).toBe(bySortingAll(row, o, u));
          checked++;
        }
      }
    }
    expect(checked).toBe(rows.length * cuts.length * 3);
  });

  it.each(BACKENDS)(
    'sampleTokens on %s: a batch of rows as sampleToken row by row, the same draws',
    async (backend) => {
      await useBackend(backend);
      const { rows, cuts } = samplingCases();
      const V = rows[0]!.length;
      const logits = new Float32Array(rows.length * V);
      for (const [b, row] of rows.entries()) logits.set(row, b * V);
      for (const o of [...cuts, { temperature: 0 }]) {
        for (const seed of [1, 2]) {
          const [batched, single] = [createRng(seed), createRng(seed)];
          const got = sampleTokens(logits, V, o, batched);
          expect(Array.from(got)).toEqual(rows.map((row) => sampleToken(row, o, single)));
          expect(batched()).toBe(single()); // as many draws taken
        }
      }
    },
  );
});

type Cut = { temperature: number; topK?: number; topP?: number };

/**
 * The definition of sampling: rank all V tokens (larger logit first, smaller id on ties), cut to top k, then to
 * the smallest prefix whose mass reaches top p, and walk it with one uniform draw.
 */
function bySortingAll(row: Float32Array, o: Cut, u: number): number {
  let order = Array.from(row.keys()).sort((a, b) => row[b]! - row[a]! || a - b);
  if (o.topK && o.topK < row.length) order = order.slice(0, o.topK);
  let probs = order.map((i) => Math.exp((row[i]! - row[order[0]!]!) / o.temperature));
  let total = probs.reduce((a, b) => a + b, 0);
  if ((o.topP ?? 1) < 1) {
    let keep = 0;
    let mass = 0;
    while (keep < order.length && (keep === 0 || mass < o.topP! * total)) mass += probs[keep++]!;
    [order, probs, total] = [order.slice(0, keep), probs.slice(0, keep), mass];
  }
  let left = u * total;
  for (let i = 0; i < order.length; i++) {
    left -= probs[i]!;
    if (left < 0) return order[i]!;
  }
  return order.at(-1)!;
}

/** Rows of 4096 logits (flat to peaked, many ties, long tails) and the cuts to sample them with. */
function samplingCases() {
  const gen = createRng(7);
  const cuts: Cut[] = [
    { temperature: 0.2, topP: 0.95 },
    { temperature: 1, topP: 0.9 },
    { temperature: 2, topP: 0.999 },
    { temperature: 0.7, topK: 50 },
    { temperature: 0.7, topK: 3000, topP: 0.8 },
    { temperature: 1 },
    { temperature: 30, topP: 0.5 },
    { temperature: 1, topP: 0.9999 },
    { temperature: 1, topK: 200 },
  ];
  const V = 4096;
  const rows = Array.from({ length: 60 }, (_, n) => {
    const scale = [0.1, 1, 8, 40][n % 4]!;
    // rounded logits give many ties
    return Float32Array.from({ length: V }, () => Math.round((gen() - 0.5) * scale * 8) / 8);
  });
  // One peak over a long tail of tokens a millionth as likely: the top k and a wide nucleus reach into the tail.
  rows.push(Float32Array.from({ length: V }, (_, i) => (i === 5 ? 0 : -14 - (i % 3) * 0.25)));
  rows.push(Float32Array.from({ length: V }, (_, i) => (i % 97 === 0 ? 0 : -30 - (i % 7))));
  return { rows, cuts, gen };
}

describe('logLikelihood', () => {
  let model: LlamaForCausalLM;
  beforeAll(async () => {
    await useBackend('wasm');
    model = new LlamaForCausalLM({ ...TINY, initializer_range: 0.5 }, { seed: 12 });
  });
  afterAll(() => model.dispose());

  it('sums continuation log-probabilities, batched or not, and reports greediness', async () => {
    const context = [1, 5, 7, 9];
    const continuation = [3, 11];
    // reference from the full logits
    const logits = model.forward([[...context, ...continuation]]);
    const logp = tf.logSoftmax(logits, -1);
    const lp = (await logp.array()) as number[][][];
    tf.dispose([logits, logp]);
    const expected = lp[0]![3]![3]! + lp[0]![4]![11]!;
    const requests = [
      { context, continuation },
      { context: [2, 2], continuation: [5, 6, 7] },
      { context: [4], continuation: [1] },
    ];
    const before = tf.memory().numTensors;
    const batched = await logLikelihood(model, requests, { batchSize: 3 });
    expect(tf.memory().numTensors).toBe(before);
    expect(batched[0]!.logprob).toBeCloseTo(expected, 4);
    expect(batched[0]!.numTokens).toBe(2);
    const single = await logLikelihood(model, requests, { batchSize: 1 });
    for (let i = 0; i < requests.length; i++) expect(batched[i]!.logprob).toBeCloseTo(single[i]!.logprob, 4);
    // the greedy continuation is greedy
    const g = argmax(lp[0]![3]!);
    const [res] = await logLikelihood(model, [{ context, continuation: [g] }]);
    expect(res!.isGreedy).toBe(true);
    expect(batched[0]!.isGreedy).toBe(g === 3 && argmax(lp[0]![4]!) === 11);
  });

  it('logitsAt gives the rows of forward at the chosen positions, and refuses positions outside', async () => {
    const ids = [
      [1, 5, 7, 9, 3],
      [2, 4, 6, 8, 10],
    ];
    const all = model.forward(ids); // (2, 5, V)
    const V = all.shape[2];
    const full = (await all.data()) as Float32Array;
    all.dispose();
    const at = [9, 0, 4, 6];
    const before = tf.memory().numTensors;
    const picked = model.logitsAt(ids, at);
    expect(picked.shape).toEqual([4, V]);
    const got = (await picked.data()) as Float32Array;
    picked.dispose();
    expect(tf.memory().numTensors).toBe(before);
    at.forEach((n, r) => {
      for (let v = 0; v < V; v++) expect(got[r * V + v]).toBeCloseTo(full[n * V + v]!, 5);
    });
    expect(() => model.logitsAt(ids, [10])).toThrow(/position 0 is 10, outside the 10 positions/);
  });
});

// Multiple-choice shapes: one context and several continuations, sentences that differ late (the continuation starts
// inside the shared prefix), a request that is another's prefix, groups batched together and a group larger than the
// batch, against the same requests scored whole.
describe.each(BACKENDS.filter((b) => b !== 'cpu'))('logLikelihood with shared prefixes on %s', (backend) => {
  it('scores as the unshared path, with no tensors left', async () => {
    await useBackend(backend);
    const m = new LlamaForCausalLM({ ...TINY, initializer_range: 0.5 }, { seed: 14 });
    const seq = (n: number, k: number) => Array.from({ length: n }, (_, i) => 3 + ((i * k + 7) % 36));
    const c1 = seq(20, 5);
    const c2 = seq(18, 7);
    const sentence = seq(24, 11);
    const late = (at: number, v: number) => sentence.map((t, i) => (i === at ? v : t));
    const requests = [
      ...[[4, 9], [4, 10, 11], [12], [13, 14, 15, 16, 17, 18]].map((continuation) => ({
        context: c1,
        continuation,
      })),
      ...[[5], [6, 7], [8, 9, 10]].map((continuation) => ({ context: c2, continuation })),
      ...[late(15, 1), late(15, 2), late(18, 3), sentence].map((continuation) => ({
        context: [],
        continuation,
      })),
      { context: c1, continuation: [4] },
      { context: [9, 8], continuation: [7, 6] },
    ];
    const whole = await logLikelihood(m, requests, { minSharedPrefix: 0, batchSize: 4 });
    // Rows per forward pass: a prefix shared by more requests than a batch is run once per group of `batchSize`.
    const rows: number[] = [];
    const logitsAt = m.logitsAt.bind(m);
    m.logitsAt = (ids, at, options) => {
      rows.push((ids as number[][]).length);
      return logitsAt(ids, at, options);
    };
    for (const batchSize of [4, 16]) {
      rows.length = 0;
      const before = tf.memory().numTensors;
      const shared = await logLikelihood(m, requests, { minSharedPrefix: 4, batchSize });
      expect(tf.memory().numTensors).toBe(before);
      expect(Math.max(...rows)).toBeLessThanOrEqual(batchSize);
      for (const [i, r] of shared.entries()) {
        expect(r.logprob).toBeCloseTo(whole[i]!.logprob, 4);
        expect(r.isGreedy).toBe(whole[i]!.isGreedy);
        expect(r.numTokens).toBe(requests[i]!.continuation.length);
      }
    }
    await expect(logLikelihood(m, requests, { minSharedPrefix: -1 })).rejects.toThrow(/minSharedPrefix/);
    m.dispose();
  });
});

describe('logLikelihood inputs', () => {
  it('truncates long contexts from the left and scores an empty context after bos', async () => {
    await useBackend('wasm');
    const m = new LlamaForCausalLM({ ...TINY, initializer_range: 0.5 }, { seed: 13 });
    const long = { context: [3, 4, 5, 6, 7, 8, 9], continuation: [10, 11] };
    const [cut] = await logLikelihood(m, [long], { maxLength: 4 });
    const [same] = await logLikelihood(m, [{ context: [7, 8, 9], continuation: [10, 11] }]);
    expect(cut!.logprob).toBeCloseTo(same!.logprob, 4);
    const [empty] = await logLikelihood(m, [{ context: [], continuation: [5] }]);
    const [bos] = await logLikelihood(m, [{ context: [1], continuation: [5] }]);
    expect(empty!.logprob).toBeCloseTo(bos!.logprob, 5);
    await expect(logLikelihood(m, [{ context: [1], continuation: [] }])).rejects.toThrow(
      /empty continuation/,
    );
    m.dispose();
  });
});

describe.skipIf(!BACKENDS.includes('native'))('KVCache in place (native)', () => {
  it('gives the logits of the concatenated cache, prompt with left padding then single steps, no leaks', async () => {
    await useBackend('native');
    const model = new LlamaForCausalLM({ ...TINY, eos_token_id: null, initializer_range: 0.5 }, { seed: 3 });
    const before = tf.memory().numTensors;
    const inPlace = new KVCache(TINY.num_hidden_layers, { capacity: 12 });
    const grown = new KVCache(TINY.num_hidden_layers);
    expect([inPlace.inPlace, grown.inPlace]).toEqual([true, false]);
    let ids = [
      [0, 0, 5, 9, 2],
      [7, 3, 1, 4, 8],
    ];
    let mask = [
      [0, 0, 1, 1, 1],
      [1, 1, 1, 1, 1],
    ];
    for (let step = 0; step < 4; step++) {
      const [a, b] = [inPlace, grown].map((cache) => {
        const logits = model.forward(ids, { attentionMask: mask, cache });
        const out = logits.dataSync().slice();
        logits.dispose();
        return out;
      });
      // Padding query rows attend to nothing in place and to the padding on the tfjs path: compare real rows.
      const T = ids[0]!.length;
      const V = TINY.vocab_size;
      for (let r = 0; r < 2; r++)
        for (let t = 0; t < T; t++) {
          if (mask[r]![mask[r]!.length - T + t] === 0) continue;
          const row = (r * T + t) * V;
          for (let j = 0; j < V; j++) expect(Math.abs(a![row + j]! - b![row + j]!)).toBeLessThan(1e-4);
        }
      expect(inPlace.length).toBe(grown.length);
      ids = [[11 + step], [20 + step]];
      mask = mask.map((m) => [...m, 1]);
    }
    expect(inPlace.layers[0]!.k.shape).toEqual([
      2,
      12,
      TINY.num_key_value_heads,
      TINY.hidden_size / TINY.num_attention_heads,
    ]);
    const full = new KVCache(1, { capacity: 2 });
    const kv = tf.zeros([
      1,
      3,
      TINY.num_key_value_heads,
      TINY.hidden_size / TINY.num_attention_heads,
    ]) as tf.Tensor4D;
    expect(() => full.write(0, kv, kv)).toThrow(/exceed the capacity 2/);
    tf.dispose(kv);
    for (const c of [inPlace, grown, full]) c.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('KVCache', () => {
  it('appends along the sequence axis, selects batch rows and frees its tensors', async () => {
    await useBackend('cpu');
    const before = tf.memory().numTensors;
    const cache = new KVCache(1);
    const step = (v: number) => tf.fill([2, 1, 1, 2], v) as tf.Tensor4D;
    for (const v of [1, 2, 3]) {
      const [k, val] = [step(v), step(-v)];
      cache.append(0, k, val);
      tf.dispose([k, val]);
    }
    expect(cache.length).toBe(3);
    cache.select([1]);
    expect(cache.layers[0]!.k.shape).toEqual([1, 1, 3, 2]);
    expect(Array.from(await cache.layers[0]!.v.data())).toEqual([-1, -1, -2, -2, -3, -3]);
    cache.dispose();
    expect(cache.length).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });
});
