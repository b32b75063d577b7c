// In-place AdamW and Lion against the formulas of torch.optim.AdamW and the Lion paper evaluated in float64 here.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { NATIVE, SKIP_NATIVE, uniform } from '../test/helpers.js';
import { InPlaceAdamW, InPlaceLion, resolveAdamWConfig } from './optimizer.js';

const N = 1000;

describe('optimizer configs', () => {
  it('reject unknown keys and bad betas', () => {
    expect(() => resolveAdamWConfig({ momentum: 0.9 } as never)).toThrow(/unknown/);
    expect(() => resolveAdamWConfig({ beta2: 1 })).toThrow(/betas/);
    expect(() => resolveAdamWConfig({ lr: Number.NaN })).toThrow(/lr/);
  });
});

describe.skipIf(SKIP_NATIVE)('in-place optimizers', () => {
  it('AdamW matches torch.optim.AdamW over 3 steps (rel. 1e-5), with a per-step lr', async () => {
    await tf.setBackend(NATIVE);
    const p0 = uniform([N], 1).data as Float32Array;
    const p = tf.variable(tf.tensor1d(p0));
    const opt = new InPlaceAdamW([p], { lr: 1e-2, weightDecay: 0.1 });
    const ref = Float64Array.from(p0);
    const m = new Float64Array(N);
    const v = new Float64Array(N);
    const [b1, b2, eps, wd] = [0.9, 0.999, 1e-8, 0.1];
    for (let t = 1; t <= 3; t++) {
      const lr = 1e-2 / t;
      const g = uniform([N], 10 + t).data as Float32Array;
      tf.tidy(() => opt.update([tf.tensor1d(g)], lr));
      for (let i = 0; i < N; i++) {
        ref[i] = ref[i]! * (1 - lr * wd);
        m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
        const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps;
        ref[i] = ref[i]! - (lr / (1 - b1 ** t)) * (m[i]! / denom);
      }
    }
    const got = p.dataSync();
    for (let i = 0; i < N; i++)
      expect(Math.abs(got[i]! - ref[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(ref[i]!)));
    p.dispose();
  });

  it('Lion matches the paper update over 3 steps', async () => {
    await tf.setBackend(NATIVE);
    const p0 = uniform([N], 2).data as Float32Array;
    const p = tf.variable(tf.tensor1d(p0));
    const opt = new InPlaceLion([p], { lr: 1e-3, weightDecay: 0.5 });
    const ref = Float64Array.from(p0);
    const m = new Float64Array(N);
    for (let t = 1; t <= 3; t++) {
      const g = uniform([N], 20 + t).data as Float32Array;
      tf.tidy(() => opt.update([tf.tensor1d(g)]));
      for (let i = 0; i < N; i++) {
        const c = 0.9 * m[i]! + 0.1 * g[i]!;
        ref[i] = ref[i]! * (1 - 1e-3 * 0.5) - 1e-3 * Math.sign(c);
        m[i] = 0.99 * m[i]! + 0.01 * g[i]!;
      }
    }
    const got = p.dataSync();
    for (let i = 0; i < N; i++) expect(Math.abs(got[i]! - ref[i]!)).toBeLessThanOrEqual(1e-6);
    p.dispose();
  });

  it('updates the variable in place but never a tensor that shares its memory', async () => {
    await tf.setBackend(NATIVE);
    const init = tf.tensor1d([1, 2, 3]);
    const p = tf.variable(init); // shares init's buffer
    const opt = new InPlaceLion([p], { lr: 0.5 });
    tf.tidy(() => opt.update([tf.tensor1d([1, -1, 0])]));
    expect(Array.from(init.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(p.dataSync())).toEqual([0.5, 2.5, 3]);
    const before = tf.memory().numTensors;
    tf.tidy(() => opt.update([tf.tensor1d([1, 1, 1])])); // now exclusive: no copy, no new tensor
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(p.dataSync())).toEqual([0, 2, 2.5]);
    tf.dispose([init, p]);
  });

  it('refuses to run on another backend', async () => {
    await tf.setBackend('cpu');
    const p = tf.variable(tf.zeros([2]));
    expect(() => new InPlaceAdamW([p]).update([tf.zeros([2])])).toThrow(/native backend/);
    p.dispose();
  });
});
