import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { NATIVE, runOn, SKIP_NATIVE, uniform } from '../test/helpers.js';

// Data movement is exact: native results must equal the tfjs cpu kernels bit for bit.
describe.skipIf(SKIP_NATIVE)('Add, Transpose, GatherV2, Slice and PadV2 on the native backend', () => {
  it.each([
    [[7], [7]],
    [
      [300, 129],
      [300, 129],
    ],
    [[4, 5], [5]],
  ])('add %j + %j (same shape and row broadcast native)', async (sa, sb) => {
    const inputs = [uniform(sa, 3), uniform(sb, 4)];
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.add(a, b);
    expect(await runOn(NATIVE, inputs, f)).toEqual(await runOn('cpu', inputs, f));
  });

  it.each([
    [
      [3, 5],
      [1, 0],
    ],
    [
      [2, 3, 4, 5],
      [0, 2, 1, 3],
    ],
    [
      [2, 3, 4, 5],
      [3, 1, 0, 2],
    ],
    [
      [1, 7, 1, 3],
      [2, 3, 0, 1],
    ],
    [
      [4, 1, 6],
      [0, 2, 1],
    ],
    [
      [2, 3, 4, 5, 6],
      [4, 0, 3, 1, 2],
    ],
    [
      [64, 33],
      [0, 1],
    ],
  ])('transpose %j by %j (float32 and int32)', async (shape, perm) => {
    const f = (x: tf.Tensor) => tf.transpose(x, perm);
    const inputs = [uniform(shape, 1)];
    expect(await runOn(NATIVE, inputs, f)).toEqual(await runOn('cpu', inputs, f));
    const ints = [
      { shape, data: Int32Array.from(inputs[0]!.data, (v) => Math.round(v * 1000)), dtype: 'int32' as const },
    ];
    expect(await runOn(NATIVE, ints, f)).toEqual(await runOn('cpu', ints, f));
  });

  it('gathers rows on axis 0 and delegates other axes', async () => {
    const inputs = [
      uniform([6, 4], 2),
      { shape: [2, 3], data: Int32Array.of(5, 0, 5, 2, 1, 3), dtype: 'int32' as const },
    ];
    for (const axis of [0, 1]) {
      const f = (x: tf.Tensor, i: tf.Tensor) =>
        tf.gather(x, axis === 1 ? tf.minimum(i, tf.scalar(3, 'int32')) : i, axis);
      expect(await runOn(NATIVE, inputs, f)).toEqual(await runOn('cpu', inputs, f));
    }
  });

  it.each([
    [[7], [2], [4]],
    [
      [64, 17, 9],
      [0, 0, 0],
      [64, 16, 9],
    ], // the model's "drop the last position" slice
    [
      [5, 6, 7],
      [1, 2, 3],
      [3, -1, 2],
    ],
    [
      [3, 33, 2, 5],
      [1, 0, 1, 0],
      [2, 33, 1, 5],
    ],
    [
      [4, 5],
      [1, 0],
      [2, 5],
    ], // contiguous: a view, as on cpu
    [
      [2, 3, 4, 5, 6],
      [1, 1, 0, 2, 3],
      [1, 2, 4, 3, 3],
    ],
    [
      [3, 4],
      [0, 0],
      [0, 4],
    ],
  ])('slice %j at %j of size %j, and its gradient (PadV2), float32 and int32', async (shape, begin, size) => {
    const f = (x: tf.Tensor) => tf.slice(x, begin, size);
    const inputs = [uniform(shape, 5)];
    expect(await runOn(NATIVE, inputs, f)).toEqual(await runOn('cpu', inputs, f));
    const ints = [
      { shape, data: Int32Array.from(inputs[0]!.data, (v) => Math.round(v * 1000)), dtype: 'int32' as const },
    ];
    expect(await runOn(NATIVE, ints, f)).toEqual(await runOn('cpu', ints, f));
    const g = (x: tf.Tensor) => tf.grad((y: tf.Tensor) => tf.sum(tf.mul(f(y), tf.sin(f(y)))))(x);
    expect(await runOn(NATIVE, inputs, g)).toEqual(await runOn('cpu', inputs, g));
  });

  it.each([
    [[5], [[2, 3]], 0],
    [
      [3, 4, 5],
      [
        [0, 1],
        [2, 0],
        [1, 1],
      ],
      1.5,
    ],
    [
      [2, 3],
      [
        [0, 0],
        [0, 0],
      ],
      0,
    ],
  ])('pad %j by %j with %d (float32 and int32)', async (shape, paddings, value) => {
    const f = (x: tf.Tensor) => tf.pad(x, paddings as [number, number][], value);
    const inputs = [uniform(shape, 6)];
    expect(await runOn(NATIVE, inputs, f)).toEqual(await runOn('cpu', inputs, f));
    const ints = [
      { shape, data: Int32Array.from(inputs[0]!.data, (v) => Math.round(v * 100)), dtype: 'int32' as const },
    ];
    const fi = (x: tf.Tensor) => tf.pad(x, paddings as [number, number][], Math.round(value));
    expect(await runOn(NATIVE, ints, fi)).toEqual(await runOn('cpu', ints, fi));
  });

  it.each([
    [
      [
        [2, 3],
        [4, 3],
      ],
      0,
    ],
    [
      [
        [16, 3, 9, 8],
        [16, 3, 1, 8],
      ],
      2,
    ], // a KV cache append
    [
      [
        [2, 5],
        [2, 0],
        [2, 1],
      ],
      1,
    ], // an empty input
    [
      [
        [3, 2, 2],
        [3, 2, 1],
      ],
      -1,
    ],
  ] as [number[][], number][])('concat %j on axis %i (float32 and int32)', async (shapes, axis) => {
    const f = (...xs: tf.Tensor[]) => tf.concat(xs, axis);
    const inputs = shapes.map((sh, i) => uniform(sh, 40 + i));
    expect(await runOn(NATIVE, inputs, f)).toEqual(await runOn('cpu', inputs, f));
    const ints = inputs.map((x) => ({
      shape: x.shape,
      data: Int32Array.from(x.data, (v) => Math.round(v * 100)),
      dtype: 'int32' as const,
    }));
    expect(await runOn(NATIVE, ints, f)).toEqual(await runOn('cpu', ints, f));
  });

  it('scatterND of rows (the embedding gradient) sums duplicates; other index depths go to the cpu kernel', async () => {
    const idx = { shape: [6, 1], data: Int32Array.from([3, 0, 3, 4, 3, 1]), dtype: 'int32' as const };
    const f = (i: tf.Tensor, u: tf.Tensor) => tf.scatterND(i, u, [5, 2, 3]);
    const inputs = [idx, uniform([6, 2, 3], 50)];
    expect(await runOn(NATIVE, inputs, f)).toEqual(await runOn('cpu', inputs, f));
    const deep = { shape: [2, 2], data: Int32Array.from([1, 0, 1, 0]), dtype: 'int32' as const };
    const inputs2 = [deep, uniform([2, 4], 51)];
    const g = (i: tf.Tensor, u: tf.Tensor) => tf.scatterND(i, u, [3, 2, 4]);
    expect(await runOn(NATIVE, inputs2, g)).toEqual(await runOn('cpu', inputs2, g));
  });
});
