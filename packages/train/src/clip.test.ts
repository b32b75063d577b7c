import { initBackend } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { clipFactor, globalNorm, scaleGrads } from './clip.js';

describe('clipping by global norm', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('the global norm of G / N over several tensors, and the clipped gradient has norm min(‖g‖, c)', () => {
    const before = tf.memory().numTensors;
    // G: [3, 4] and [[0, 12]]: ‖G‖ = √(9 + 16 + 144) = 13; over N = 2 tokens ‖g‖ = 6.5
    const grads = () =>
      new Map<string, tf.Tensor>([
        ['a', tf.tensor1d([3, 4])],
        ['b', tf.tensor2d([[0, 12]])],
      ]);
    const g1 = grads();
    const norm = globalNorm(g1.values(), 2);
    expect(norm).toBeCloseTo(6.5, 6);
    for (const [c, expected] of [
      [1, 1],
      [100, 6.5],
      [null, 6.5],
    ] as const) {
      const g = c === 1 ? g1 : grads();
      const clipped = scaleGrads(g, clipFactor(norm, c) / 2);
      expect(globalNorm(clipped.values())).toBeCloseTo(expected, 5);
      if (c === 1)
        expect(Array.from(clipped.get('a')!.dataSync())).toEqual(
          [3 / 13, 4 / 13].map((x) => expect.closeTo(x, 6)),
        );
      tf.dispose([...clipped.values()]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it("uses torch's factor c / (‖g‖ + 1e-6), never above 1", () => {
    expect(clipFactor(2, 1)).toBeCloseTo(1 / (2 + 1e-6), 12);
    expect(clipFactor(0.5, 1)).toBe(1);
    expect(clipFactor(1e9, null)).toBe(1);
  });
});
