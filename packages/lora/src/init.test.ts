import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { take, useCpu } from '../test/helpers.js';
import { randomLoraWeights } from './init.js';

beforeAll(useCpu);

function stats(v: Float32Array) {
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length;
  const maxAbs = v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  return { mean, std: Math.sqrt(variance), maxAbs };
}

// 64 x 256 = 16384 draws: the sample std is within 2% of the true one with overwhelming probability (sd ≈ 0.6%).
const r = 64;
const inp = 256;
const out = 128;

describe('init_lora_weights', () => {
  it('true: A ~ U(±1/√in) (kaiming_uniform_, a = √5), B = 0', () => {
    const { A, B } = randomLoraWeights({ kind: 'kaiming' }, r, inp, out, 5);
    expect(A.shape).toEqual([r, inp]);
    expect(B.shape).toEqual([out, r]);
    const s = stats(take(A));
    const bound = 1 / Math.sqrt(inp);
    expect(s.maxAbs).toBeLessThanOrEqual(bound);
    expect(Math.abs(s.std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(0.02);
    expect(take(B).every((v) => v === 0)).toBe(true);
  });

  it('"gaussian": A ~ N(0, (1/r)²), B = 0', () => {
    const { A, B } = randomLoraWeights({ kind: 'gaussian' }, r, inp, out, 6);
    const s = stats(take(A));
    expect(Math.abs(s.std * r - 1)).toBeLessThan(0.02);
    expect(Math.abs(s.mean) * r).toBeLessThan(0.05);
    expect(take(B).every((v) => v === 0)).toBe(true);
  });

  it('false: A ~ U(±1/√in), B ~ U(±1/√r), so the adapter is not the identity', () => {
    const { A, B } = randomLoraWeights({ kind: 'random' }, r, inp, out, 7);
    expect(stats(take(A)).maxAbs).toBeLessThanOrEqual(1 / Math.sqrt(inp));
    const b = stats(take(B));
    expect(b.maxAbs).toBeLessThanOrEqual(1 / Math.sqrt(r));
    expect(Math.abs(b.std / (1 / Math.sqrt(r) / Math.sqrt(3)) - 1)).toBeLessThan(0.03);
  });

  it('is reproducible from the seed', () => {
    const a1 = randomLoraWeights({ kind: 'kaiming' }, 2, 8, 4, 11);
    const a2 = randomLoraWeights({ kind: 'kaiming' }, 2, 8, 4, 11);
    expect(take(a1.A)).toEqual(take(a2.A));
    tf.dispose([a1.B, a2.B]);
  });
});
