// Shared test helpers: backend switching and float comparisons with stated tolerances.
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { type BackendName, initBackend } from '../src/index.js';

export const BACKENDS = ['wasm', 'cpu'] as const satisfies readonly BackendName[];

export async function useBackend(name: BackendName): Promise<void> {
  await initBackend(name);
  expect(tf.getBackend()).toBe(name === 'cuda' || name === 'tensorflow' ? 'tensorflow' : name);
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

export const TINY = {
  vocab_size: 40,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
} as const;
