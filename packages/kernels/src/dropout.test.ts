// The native dropout: kept share and scale, a mask keyed by (seed, index) only, its gradient, and the fallback.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { NATIVE, runOn, SKIP_NATIVE, uniform } from '../test/helpers.js';
import { dropout } from './dropout.js';
import { ConfigError } from './errors.js';

const N = 1 << 18; // several threads' ranges
/** 1 / (1 − rate) as the kernel computes it, in float32. */
const keptScale = (rate: number) => Math.fround(1 / Math.fround(1 - Math.fround(rate)));

describe.skipIf(SKIP_NATIVE)('dropout on the native backend', () => {
  it('keeps 1 − rate of the elements, scaled by 1 / (1 − rate), evenly over the tensor', async () => {
    for (const rate of [0.05, 0.3, 0.9]) {
      const [y] = await runOn(NATIVE, [{ shape: [N], data: new Float32Array(N).fill(1) }], (x) =>
        dropout(x!, rate, 1234),
      );
      const scale = keptScale(rate);
      expect(y!.every((v) => v === 0 || v === scale)).toBe(true);
      // the kept count of each of 16 blocks within 5 standard deviations of its expectation
      const block = N / 16;
      const sd = Math.sqrt(block * rate * (1 - rate));
      for (let b = 0; b < 16; b++) {
        let kept = 0;
        for (let i = b * block; i < (b + 1) * block; i++) kept += y![i]! === 0 ? 0 : 1;
        expect(Math.abs(kept - block * (1 - rate)), `rate ${rate}, block ${b}`).toBeLessThan(5 * sd);
      }
      // neighbours are independent: both kept about (1 − rate)² of the time
      let both = 0;
      for (let i = 0; i + 1 < N; i += 2) both += y![i]! !== 0 && y![i + 1]! !== 0 ? 1 : 0;
      const pairs = N / 2;
      const p2 = (1 - rate) ** 2;
      expect(Math.abs(both - pairs * p2), `rate ${rate}, pairs`).toBeLessThan(
        5 * Math.sqrt(pairs * p2 * (1 - p2)),
      );
    }
  });

  it('draws its mask from (seed, index) only: the same seed repeats it, a prefix is the shorter tensor, another seed differs', async () => {
    const ones = (n: number) => ({ shape: [n], data: new Float32Array(n).fill(1) });
    const [a, b, c, big, bigNext] = await runOn(NATIVE, [ones(N)], (x) => [
      dropout(x!, 0.5, 7),
      dropout(x!, 0.5, 7),
      dropout(x!, 0.5, 8),
      dropout(x!, 0.5, 2 ** 62), // seeds past 2⁵³ (a model's derived seeds reach them) are keys too
      dropout(x!, 0.5, 2 ** 62 + 2 ** 10), // the next float64
    ]);
    expect(Array.from(big!)).not.toEqual(Array.from(bigNext!));
    const [short] = await runOn(NATIVE, [ones(1000)], (x) => dropout(x!, 0.5, 7));
    expect(Array.from(b!)).toEqual(Array.from(a!));
    expect(Array.from(short!)).toEqual(Array.from(a!.subarray(0, 1000)));
    let same = 0;
    for (let i = 0; i < N; i++) same += (a![i] === 0) === (c![i] === 0) ? 1 : 0;
    expect(Math.abs(same / N - 0.5)).toBeLessThan(0.01);
  });

  it('has the gradient mask / (1 − rate): the same mask as its forward pass', async () => {
    const x = uniform([300, 7], 3);
    const r = uniform([300, 7], 4);
    const [y, g] = await runOn(NATIVE, [x, r], (xs, rs) => [
      dropout(xs!, 0.4, 99),
      tf.grad((v: tf.Tensor) => tf.sum(tf.mul(dropout(v, 0.4, 99), rs!)))(xs!),
    ]);
    const scale = keptScale(0.4);
    for (let i = 0; i < y!.length; i++) {
      const kept = y![i] !== 0;
      expect(g![i]).toBe(kept ? Math.fround(r.data[i]! * scale) : 0);
      if (kept) expect(y![i]).toBe(Math.fround(x.data[i]! * scale));
    }
  });

  it('rate 0 keeps everything; a rate outside [0, 1) or a seed that is not finite is a ConfigError', async () => {
    const x = uniform([5, 3], 5);
    const [y] = await runOn(NATIVE, [x], (xs) => dropout(xs!, 0, 1));
    expect(Array.from(y!)).toEqual(Array.from(x.data));
    await tf.setBackend(NATIVE);
    const t = tf.ones([2]);
    for (const [rate, seed, key] of [
      [1, 1, 'rate'],
      [-0.1, 1, 'rate'],
      [Number.NaN, 1, 'rate'],
      [0.5, Number.NaN, 'seed'],
      [0.5, Number.POSITIVE_INFINITY, 'seed'],
    ] as const) {
      const err = (() => {
        try {
          dropout(t, rate, seed);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).key).toBe(key);
    }
    t.dispose();
  });
});

describe('dropout elsewhere', () => {
  it('is tf.dropout with the same seed on a backend without the kernel', async () => {
    const x = uniform([40, 9], 6);
    const [got, want] = await runOn('cpu', [x], (xs) => [
      dropout(xs!, 0.25, 17),
      tf.dropout(xs!, 0.25, undefined, 17),
    ]);
    expect(Array.from(got!)).toEqual(Array.from(want!));
  });
});
