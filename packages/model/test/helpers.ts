// Shared test helpers: backend switching and float comparisons with stated tolerances.
import { kernelsReport, registerNativeBackend } from '@loralab/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { type BackendName, initBackend } from '../src/index.js';

/** Whether @loralab/kernels' addon is built and loads here (the `native` backend); tests on it skip otherwise. */
export const NATIVE_AVAILABLE = registerNativeBackend({ notice: false }).registered;
if (!NATIVE_AVAILABLE) {
  console.warn(`model tests: the native backend is skipped: ${kernelsReport().reason ?? 'unavailable'}`);
}

/** Backends every backend-parametrised test runs on: wasm, cpu and, when its addon is built, native. */
export const BACKENDS: readonly BackendName[] = NATIVE_AVAILABLE
  ? ['wasm', 'cpu', 'native']
  : ['wasm', 'cpu'];

export async function useBackend(name: BackendName): Promise<void> {
  const info = await initBackend(name);
  expect(tf.getBackend()).toBe(info.tfjsBackend);
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
