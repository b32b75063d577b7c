// The fused, chunked lm_head + cross-entropy against its reference (tfjs ops on the `cpu` backend, logits
// materialised): loss and the gradients of h and W, for both reductions, both gradient modes, chunks that do and do
// not divide the rows, ignored rows, and a frozen W. The loss is multiplied by a random scalar before
// differentiation, so the backward pass's scaling by the upstream gradient is checked too.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { maxDiff, NATIVE, runOn, SKIP_NATIVE, uniform } from '../test/helpers.js';
import { IGNORE_INDEX } from './cross-entropy.js';
import {
  type LinearCrossEntropyOptions,
  linearCrossEntropy,
  linearCrossEntropyReference,
} from './linear-cross-entropy.js';

const labelsOf = (rows: number, V: number, ignoreEvery: number) =>
  Int32Array.from({ length: rows }, (_, i) =>
    ignoreEvery > 0 && i % ignoreEvery === 1 ? IGNORE_INDEX : (i * 7) % V,
  );

async function compare(
  rows: number,
  d: number,
  V: number,
  labels: Int32Array,
  opts: LinearCrossEntropyOptions,
) {
  const inputs = [
    uniform([rows, d], 31, 2),
    uniform([V, d], 32, 0.5),
    { shape: [rows], data: labels, dtype: 'int32' as const },
  ];
  const reduction = opts.reduction ?? 'mean';
  const weightGrad = opts.weightGrad ?? true;
  const dy = 0.37;
  const run = (fused: boolean) =>
    runOn(fused ? NATIVE : 'cpu', inputs, (h, w, y) => {
      const f = (hh: tf.Tensor, ww: tf.Tensor) =>
        fused
          ? linearCrossEntropy(hh as tf.Tensor2D, ww as tf.Tensor2D, y as tf.Tensor1D, opts)
          : linearCrossEntropyReference(hh, ww, y!, IGNORE_INDEX, reduction);
      const value = f(h!, w!);
      const g = weightGrad
        ? tf.grads((hh: tf.Tensor, ww: tf.Tensor) => tf.mul(f(hh, ww), dy))([h!, w!])
        : [tf.grad((hh: tf.Tensor) => tf.mul(f(hh, w!), dy))(h!)];
      return [value, ...g];
    });
  const got = await run(true);
  const want = await run(false);
  const loss = maxDiff(got[0]!, want[0]!);
  expect(loss.diff, 'loss').toBeLessThanOrEqual(1e-5 * Math.max(1, loss.scale));
  expect(got.length).toBe(want.length);
  for (let i = 1; i < got.length; i++) {
    const { diff, scale } = maxDiff(got[i]!, want[i]!);
    expect(diff, i === 1 ? 'dh' : 'dW').toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
  }
}

describe.skipIf(SKIP_NATIVE)('linearCrossEntropy matches crossEntropy(h Wᵀ)', () => {
  it.each([
    // rows, d, V, ignoreEvery, chunkRows
    [1, 4, 3, 0, undefined],
    [7, 5, 11, 3, 3], // chunks of 3, 3, 1
    [16, 8, 33, 0, 4],
    [37, 16, 129, 4, 1], // one row at a time
    [64, 12, 257, 5, undefined], // one chunk
  ] as [number, number, number, number, number?][])(
    'rows %i, d %i, V %i (every %i-th ignored), chunk %s',
    async (rows, d, V, ignoreEvery, chunkRows) => {
      const labels = labelsOf(rows, V, ignoreEvery);
      for (const reduction of ['mean', 'sum'] as const) {
        for (const gradInForward of [false, true]) {
          await compare(rows, d, V, labels, { reduction, gradInForward, chunkRows });
        }
      }
    },
  );

  it('a frozen weight gets no gradient; h still does', async () => {
    for (const gradInForward of [false, true]) {
      await compare(9, 6, 17, labelsOf(9, 17, 4), { weightGrad: false, gradInForward, chunkRows: 4 });
    }
  });

  it('all rows ignored: loss 0 and zero gradients (mean and sum)', async () => {
    const labels = new Int32Array(5).fill(IGNORE_INDEX);
    for (const reduction of ['mean', 'sum'] as const) {
      await compare(5, 4, 7, labels, { reduction, gradInForward: true, chunkRows: 2 });
    }
  });

  it('a label outside the vocabulary is a RangeError naming it and its row', async () => {
    await tf.setBackend(NATIVE);
    tf.tidy(() => {
      const h = tf.ones([3, 2]) as tf.Tensor2D;
      const w = tf.ones([4, 2]) as tf.Tensor2D;
      expect(() => linearCrossEntropy(h, w, tf.tensor1d([0, 4, 1], 'int32'))).toThrow(
        /label 4 at row 1 is outside \[0, 4\)/,
      );
      expect(() => linearCrossEntropy(h, w, tf.tensor1d([0, 1], 'int32'))).toThrow(
        /labels must be int32 \(3\)/,
      );
      expect(() => linearCrossEntropy(h, w, tf.tensor1d([0, 1, 2], 'int32'), { chunkRows: 0 })).toThrow(
        /chunkRows must be a positive integer/,
      );
    });
  });

  it('keeps no tensor after a training-style gradient', async () => {
    await tf.setBackend(NATIVE);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const h = tf.randomNormal([20, 8]) as tf.Tensor2D;
      const w = tf.variable(tf.randomNormal([50, 8]));
      const y = tf.tensor1d(labelsOf(20, 50, 3), 'int32');
      const { value, grads } = tf.variableGrads(
        () =>
          linearCrossEntropy(h, w as unknown as tf.Tensor2D, y, { gradInForward: true, reduction: 'sum' }),
        [w],
      );
      expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
      expect(grads[w.name]!.shape).toEqual([50, 8]);
      w.dispose();
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
