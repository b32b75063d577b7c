import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { maxDiff, NATIVE, runOn, SKIP_NATIVE, uniform, weightedSum } from '../test/helpers.js';
import { broadcastBatchIndices } from './matmul.js';

// Tolerance: float32 sgemm and the tfjs cpu loop sum K products of uniform(-1, 1) values in different orders;
// both are within ~K·2⁻²⁴·Σ|a||b| of the exact result, so |native − reference| ≤ 2e-6·K (0.5e-3 at K = 257)
// is loose for rounding yet far below the O(1) error of a wrong transpose or batch index.
const tol = (k: number) => 2e-6 * k + 1e-6;

describe('broadcastBatchIndices', () => {
  it('maps output batches to operand batches numpy-style', () => {
    const r = broadcastBatchIndices([2, 1], [3]);
    expect(r.shape).toEqual([2, 3]);
    expect(Array.from(r.aIdx)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(Array.from(r.bIdx)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(() => broadcastBatchIndices([2], [3])).toThrow();
  });
});

describe.skipIf(SKIP_NATIVE)('BatchMatMul on OpenBLAS', () => {
  const cases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [];
  const dims: [number, number, number][] = [
    [1, 1, 1],
    [3, 5, 7],
    [17, 33, 9],
    [64, 64, 64],
    [65, 257, 31],
    [128, 1, 129],
  ];
  for (const [m, k, n] of dims) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        cases.push({ a: ta ? [k, m] : [m, k], b: tb ? [n, k] : [k, n], ta, tb });
      }
    }
  }
  // batched, with broadcast batch dims
  cases.push({ a: [4, 6, 5], b: [4, 5, 3], ta: false, tb: false });
  cases.push({ a: [2, 3, 5, 6], b: [3, 7, 5], ta: true, tb: true });
  cases.push({ a: [3, 9, 8], b: [8, 11], ta: false, tb: false });

  it.each(cases)(
    'a $a (transposeA $ta) · b $b (transposeB $tb) matches tfjs cpu',
    async ({ a, b, ta, tb }) => {
      const inputs = [uniform(a, 1), uniform(b, 2)];
      const f = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, ta, tb);
      const [got] = await runOn(NATIVE, inputs, f);
      const [want] = await runOn('cpu', inputs, f);
      const k = ta ? a[a.length - 2]! : a[a.length - 1]!;
      expect(maxDiff(got!, want!).diff).toBeLessThanOrEqual(tol(k));
    },
  );

  it('broadcasts batch dims both ways (numpy semantics; the tfjs cpu kernel handles only one-sided)', async () => {
    const inputs = [uniform([2, 1, 4, 5], 9), uniform([1, 3, 5, 2], 10)];
    const [got] = await runOn(NATIVE, inputs, (x, y) => tf.matMul(x, y));
    const [want] = await runOn('cpu', inputs, (x, y) =>
      tf.matMul(tf.tile(x, [1, 3, 1, 1]), tf.tile(y, [2, 1, 1, 1])),
    );
    expect(got!.length).toBe(2 * 3 * 4 * 2);
    expect(maxDiff(got!, want!).diff).toBeLessThanOrEqual(tol(5));
  });

  // tfjs's BatchMatMul gradient does not reduce over broadcast batch dims, so those cases are left out here.
  it.each(cases.filter((c, i) => i % 3 === 0 && c.a.length === c.b.length))(
    'gradient of a $a (transposeA $ta) · b $b (transposeB $tb) matches tfjs cpu',
    async ({ a, b, ta, tb }) => {
      const inputs = [uniform(a, 3), uniform(b, 4)];
      const f = (x: tf.Tensor, y: tf.Tensor) =>
        tf.grads((p, q) => weightedSum(tf.matMul(p!, q!, ta, tb), 5))([x, y]);
      const got = await runOn(NATIVE, inputs, f);
      const want = await runOn('cpu', inputs, f);
      const k = Math.max(...a, ...b);
      for (let i = 0; i < 2; i++) expect(maxDiff(got[i]!, want[i]!).diff).toBeLessThanOrEqual(tol(k));
    },
  );

  it('_FusedMatMul with bias and relu matches tfjs cpu', async () => {
    const inputs = [uniform([7, 13], 6), uniform([13, 5], 7), uniform([5], 8)];
    const f = (x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor) =>
      tf.fused.matMul({ a: x, b: w, bias, activation: 'relu', transposeA: false, transposeB: false });
    const [got] = await runOn(NATIVE, inputs, f);
    const [want] = await runOn('cpu', inputs, f);
    expect(maxDiff(got!, want!).diff).toBeLessThanOrEqual(tol(13));
    expect(got!.some((v) => v === 0)).toBe(true); // relu applied
  });

  it('int32 products fall back to the cpu kernel', async () => {
    const inputs = [
      { shape: [2, 2], data: Int32Array.of(1, 2, 3, 4), dtype: 'int32' as const },
      { shape: [2, 2], data: Int32Array.of(5, 6, 7, 8), dtype: 'int32' as const },
    ];
    const [got] = await runOn(NATIVE, inputs, (x, y) => tf.matMul(x, y));
    expect(Array.from(got!)).toEqual([19, 22, 43, 50]);
  });

  it('rejects mismatched inner dimensions', async () => {
    await tf.setBackend(NATIVE);
    expect(() => tf.tidy(() => tf.matMul(tf.zeros([2, 3]), tf.zeros([4, 2])))).toThrow();
  });
});
