import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { maxDiff, NATIVE, runOn, SKIP_NATIVE, uniform } from '../test/helpers.js';
import { cachedAttention, cachedAttentionReference, writeInPlace } from './cached-attention.js';
import { causalAttentionReference } from './causal-attention.js';

/** (B, len, ...) positions 0..len−1 of a (B, C, ...) cache. */
const prefix = (t: tf.Tensor, len: number) => tf.slice(t, [0, 0, 0, 0], [t.shape[0]!, len, -1, -1]);

describe('cachedAttention reference', () => {
  // Independent of the new code: the queries of the last Tq positions over a cache equal the last Tq rows of causal
  // attention over the whole prefix (the reference already checked against the native causal kernel).
  it.each([
    [2, 1, 4, 2, 9, 7, 8],
    [1, 4, 2, 2, 12, 12, 4],
    [3, 3, 6, 3, 10, 8, 5],
  ])(
    'B %i Tq %i nh %i nkv %i C %i length %i hs %i: the last rows of causal attention',
    async (B, Tq, nh, nkv, C, len, hs) => {
      const [got, want] = await runOn(
        'cpu',
        [uniform([B, len, nh, hs], 1, 2), uniform([B, C, nkv, hs], 2, 2), uniform([B, C, nkv, hs], 3)],
        (qAll, k, v) => {
          const q = tf.slice(qAll!, [0, len - Tq, 0, 0], [B, Tq, nh, hs]);
          const full = causalAttentionReference(qAll!, prefix(k!, len), prefix(v!, len), undefined, 'bthd');
          return [
            cachedAttentionReference(q, k!, v!, len),
            tf.slice(full, [0, len - Tq, 0, 0], [B, Tq, nh, hs]),
          ];
        },
      );
      const { diff } = maxDiff(got!, want!);
      expect(diff).toBeLessThan(1e-5);
    },
  );

  it('excludes padding keys; a query that sees no real key gives zeros', async () => {
    const [B, Tq, nh, nkv, C, len, hs] = [2, 3, 2, 1, 6, 5, 4];
    const mask = { shape: [B, len], data: Float32Array.from([1, 1, 1, 1, 1, 0, 0, 0, 1, 1]) };
    const [got, unmasked] = await runOn(
      'cpu',
      [uniform([B, Tq, nh, hs], 4), uniform([B, C, nkv, hs], 5), uniform([B, C, nkv, hs], 6), mask],
      (q, k, v, m) => [
        cachedAttentionReference(q!, k!, v!, len, 0.5, m!),
        cachedAttentionReference(q!, k!, v!, len, 0.5),
      ],
    );
    // batch 0 has no padding: as unmasked
    const row = Tq * nh * hs;
    expect(maxDiff(got!.subarray(0, row), unmasked!.subarray(0, row)).diff).toBe(0);
    // batch 1, query 0 sees keys 0..2, all padding: zeros; query 1 sees one real key (3): its value
    expect(Array.from(got!.subarray(row, row + nh * hs)).every((x) => x === 0)).toBe(true);
    const values = (await runOn('cpu', [uniform([B, C, nkv, hs], 6)], (v) => v!))[0]!;
    const v13 = values.subarray((1 * C + 3) * nkv * hs, (1 * C + 3) * nkv * hs + hs);
    for (let h = 0; h < nh; h++) {
      const o = got!.subarray(row + (1 * nh + h) * hs, row + (1 * nh + h + 1) * hs);
      expect(maxDiff(o, v13).diff).toBeLessThan(1e-6);
    }
  });

  it('names the shapes it refuses', () => {
    const q = tf.zeros([1, 2, 2, 4]);
    const k = tf.zeros([1, 5, 1, 4]);
    expect(() => cachedAttentionReference(q, k, k, 6)).toThrow(/1 <= Tq <= length <= C/);
    expect(() => cachedAttentionReference(q, k, k, 1)).toThrow(/length 1/);
    expect(() => cachedAttentionReference(q, k, k, 3, undefined, tf.ones([1, 4]))).toThrow(
      /keyMask must be \(B, length\)/,
    );
    tf.dispose([q, k]);
  });
});

describe('writeInPlace', () => {
  it('writes positions offset.. of axis 1 of every batch row and nothing else', async () => {
    await tf.setBackend('cpu');
    const cache = tf.fill([2, 4, 1, 2], 9);
    writeInPlace(cache, tf.tensor4d([1, 2, 3, 4], [2, 1, 1, 2]), 2);
    expect(Array.from(cache.dataSync())).toEqual([9, 9, 9, 9, 1, 2, 9, 9, 9, 9, 9, 9, 3, 4, 9, 9]);
    expect(() => writeInPlace(cache, tf.zeros([2, 2, 1, 2]), 3)).toThrow(/does not fit/);
    expect(() => writeInPlace(cache, tf.zeros([1, 1, 1, 2]), 0)).toThrow(/does not fit/);
    tf.dispose(cache);
  });
});

describe.skipIf(SKIP_NATIVE)('cachedAttention on the native backend', () => {
  // Decoding (Tq 1), a chunk of new queries, grouped-query heads, positions past `length` holding garbage that must
  // not be read, several query blocks of 128 rows, left padding with a row that sees no real key.
  it.each([
    [2, 1, 4, 2, 20, 13, 8, false],
    [3, 5, 4, 4, 40, 31, 16, false],
    [1, 1, 2, 1, 8, 1, 4, false],
    [2, 140, 2, 1, 200, 150, 8, false],
    [3, 4, 4, 2, 12, 9, 8, true],
    [2, 1, 4, 4, 30, 25, 16, true],
  ])(
    'B %i Tq %i nh %i nkv %i C %i length %i hs %i, key mask %s',
    async (B, Tq, nh, nkv, C, len, hs, masked) => {
      const mask = Float32Array.from({ length: B * len }, (_, i) =>
        masked && i % len < 3 + (Math.floor(i / len) % 3) * 2 ? 0 : 1,
      );
      const inputs = [
        uniform([B, Tq, nh, hs], 11, 2),
        uniform([B, C, nkv, hs], 12, 2),
        uniform([B, C, nkv, hs], 13),
        { shape: [B, len], data: mask },
      ];
      const f = (ref: boolean) => (q?: tf.Tensor, k?: tf.Tensor, v?: tf.Tensor, m?: tf.Tensor) =>
        (ref ? cachedAttentionReference : cachedAttention)(q!, k!, v!, len, undefined, masked ? m! : null);
      const [native] = await runOn(NATIVE, inputs, f(false));
      const [reference] = await runOn('cpu', inputs, f(true));
      const { diff, scale } = maxDiff(native!, reference!);
      expect(scale).toBeGreaterThan(0.1);
      expect(diff).toBeLessThan(1e-5);
    },
  );
});
