// Native elementwise arithmetic, Sum and AddN against the tfjs cpu kernels. +, −, ×, ÷, sqrt, max, min and the
// data-moving ops are correctly rounded in float32 both ways (the cpu kernels compute in double and round once, which
// for these ops gives the float32 result), so they must agree exactly; exp, rsqrt and squared difference within
// 2 ulp-ish (1e-6 relative); sums within 1e-6 of Σ|x| (summation order differs).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { maxDiff, NATIVE, runOn, SKIP_NATIVE, uniform } from '../test/helpers.js';
import type { NativeBackend } from './native-backend.js';

const EXACT = new Set(['add', 'sub', 'mul', 'div', 'maximum', 'minimum']);
const BINARY: Record<string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
  add: tf.add,
  sub: tf.sub,
  mul: tf.mul,
  div: tf.div,
  maximum: tf.maximum,
  minimum: tf.minimum,
  squaredDifference: tf.squaredDifference,
};

async function expectAgree(
  inputs: Parameters<typeof runOn>[1],
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
  rtol: number,
) {
  const got = await runOn(NATIVE, inputs, f);
  const want = await runOn('cpu', inputs, f);
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    if (rtol === 0) expect(g).toEqual(want[i]);
    else {
      const { diff, scale } = maxDiff(g, want[i]!);
      expect(diff).toBeLessThanOrEqual(rtol * Math.max(1, scale));
    }
  });
}

describe.skipIf(SKIP_NATIVE)('elementwise ops and sums on the native backend', () => {
  const shapes: [number[], number[]][] = [
    [
      [7, 13],
      [7, 13],
    ],
    [[300, 129], []], // scalar right (optimizer scalings), parallel path
    [[], [65, 3]], // scalar left
    [[4, 5], [5]], // bias add: b repeats along the rows
    [
      [1, 3],
      [257, 2, 3],
    ], // a repeats, left
    [
      [2, 3, 4],
      [1, 4],
    ],
    [
      [3, 1],
      [1, 4],
    ], // two-sided broadcast with small blocks: the cpu kernel
    [
      [4, 3, 7, 70],
      [4, 1, 7, 70],
    ], // attention scores plus a per-batch mask: one native call per batch
    [
      [2, 1, 3, 64],
      [1, 5, 1, 64],
    ], // both sides broadcast over outer axes
    [[1], [1]],
  ];
  for (const [name, f] of Object.entries(BINARY)) {
    it.each(shapes)(`${name} %j with %j`, async (sa, sb) => {
      const b = uniform(sb, 8);
      b.data = b.data.map((v) => (Math.abs(v) < 0.05 ? 0.5 : v)); // no division by ~0
      await expectAgree([uniform(sa, 7, 3), b], f, EXACT.has(name) ? 0 : 1e-6);
    });
  }

  it('two-sided broadcasts with large blocks run natively (one call per block)', async () => {
    await tf.setBackend(NATIVE);
    const addon = (tf.findBackend(NATIVE) as NativeBackend).addon;
    const binary = addon.binary;
    let calls = 0;
    addon.binary = (...args) => {
      calls++;
      return binary(...args);
    };
    try {
      tf.tidy(() => tf.add(tf.ones([4, 3, 7, 70]), tf.ones([4, 1, 7, 70])).dataSync());
      expect(calls).toBe(4);
      calls = 0;
      tf.tidy(() => tf.add(tf.ones([3, 1]), tf.ones([1, 4])).dataSync());
      expect(calls).toBe(0);
    } finally {
      addon.binary = binary;
    }
  });

  it.each([[[1]], [[5, 7]], [[4, 3, 7, 70]], [[2, 40000]]])(
    'softmax over the last axis of %j',
    async (shape) => {
      const x = uniform(shape, 13, 30);
      for (let i = 3; i < x.data.length; i += 5) x.data[i] = Number.NEGATIVE_INFINITY; // masked scores
      if (shape.length === 1) x.data[0] = 2;
      await expectAgree([x], (y) => tf.softmax(y!), 1e-6);
      await expectAgree(
        [uniform(shape, 14, 3)],
        (y) => tf.grad((z: tf.Tensor) => tf.sum(tf.mul(tf.softmax(z), z)))(y!),
        1e-5,
      );
    },
  );

  it('int32 operands go to the cpu kernels', async () => {
    const ints = (shape: number[], s: number) => ({
      shape,
      data: Int32Array.from(uniform(shape, s).data, (v) => Math.round(v * 50)),
      dtype: 'int32' as const,
    });
    await expectAgree(
      [ints([4, 5], 1), ints([5], 2)],
      (a, b) => [tf.add(a!, b!), tf.mul(a!, b!), tf.neg(a!)],
      0,
    );
  });

  const UNARY: Record<string, [(x: tf.Tensor) => tf.Tensor, number]> = {
    neg: [tf.neg, 0],
    square: [tf.square, 0],
    sqrt: [(x) => tf.sqrt(tf.abs(x)), 0],
    rsqrt: [(x) => tf.rsqrt(tf.add(tf.abs(x), 0.1)), 1e-6],
    exp: [tf.exp, 1e-6],
    abs: [tf.abs, 0],
    reciprocal: [tf.reciprocal, 0],
    sign: [tf.sign, 0],
  };
  for (const [name, [f, tol]] of Object.entries(UNARY)) {
    it.each([[[1]], [[17, 33]], [[40000]]])(`${name} on %j`, async (shape) => {
      const x = uniform(shape, 9, 4);
      x.data[0] = 0; // sign(0), sqrt(0)
      await expectAgree([x], name === 'reciprocal' ? (y) => f(tf.add(tf.abs(y), 0.5)) : f, tol);
    });
  }

  it.each([
    [[5, 7], 1, false],
    [[5, 7], 0, false],
    [[2, 3, 4], [1, 2], true],
    [[2, 3, 4], [0, 1], false],
    [[2, 3, 4], [0, 2], false], // interior axes: the cpu kernel
    [[100003], 0, false], // one long row, two threads
    [[8192, 129], 0, true], // bias gradient
    [[3, 4], [-1], false],
  ] as [number[], number | number[], boolean][])(
    'sum %j over %j (keepDims %s)',
    async (shape, axis, keep) => {
      await expectAgree([uniform(shape, 11, 2)], (x) => tf.sum(x, axis, keep), 1e-6 * 100);
    },
  );

  it('addN and gradients through the native elementwise kernels agree with cpu', async () => {
    const inputs = [uniform([33, 17], 1), uniform([33, 17], 2), uniform([33, 17], 3)];
    await expectAgree(inputs, (a, b, c) => tf.addN([a!, b!, c!]), 0);
    const loss = (x: tf.Tensor, w: tf.Tensor) =>
      tf.sum(tf.div(tf.mul(tf.sqrt(tf.add(tf.square(x), 1)), tf.sub(x, w)), tf.maximum(tf.abs(w), 0.5)));
    await expectAgree(inputs.slice(0, 2), (x, w) => tf.grads(loss)([x!, w!]), 1e-6);
  });
});
