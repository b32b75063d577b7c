// Shared test helpers: the cpu backend, a tiny Llama, float comparisons with stated tolerances.
import { initBackend } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

export async function useCpu(): Promise<void> {
  await initBackend('cpu');
  expect(tf.getBackend()).toBe('cpu');
}

/** max |a − b| ≤ atol + rtol · max|b| over the whole array. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 0, rtol = 0 }: { atol?: number; rtol?: number },
  what = '',
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let maxDiff = 0;
  let maxRef = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= maxDiff)) {
      maxDiff = d;
      at = i;
    }
    maxRef = Math.max(maxRef, Math.abs(expected[i]!));
  }
  const tol = atol + rtol * maxRef;
  expect(
    maxDiff,
    `${what}: max |diff| ${maxDiff} at ${at} exceeds ${tol} (max |ref| ${maxRef})`,
  ).toBeLessThanOrEqual(tol);
}

/** A tiny Llama: 2 layers, GQA 4 over 2 heads, untied lm_head. */
export const TINY = {
  vocab_size: 40,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
} as const;

export const IDS = [
  [1, 5, 7, 9, 3, 11, 2, 4],
  [2, 4, 6, 8, 10, 12, 14, 39],
];

/** Reads a tensor's values and disposes it. */
export function take(t: tf.Tensor): Float32Array {
  const v = t.dataSync() as Float32Array;
  t.dispose();
  return v;
}
