// Test helpers: run one function on the native backend and on the tfjs `cpu` reference with the same inputs.
import '@tensorflow/tfjs'; // registers the gradients of every tfjs op (tfjs-core alone registers none)
import * as tf from '@tensorflow/tfjs-core';
import { registerNativeBackend } from '../src/index.js';

export const registration = registerNativeBackend({ notice: false });
export const NATIVE = registration.backendName;
/** Reason shown for skipped native tests. */
export const SKIP_NATIVE = !registration.registered;
if (SKIP_NATIVE) console.warn(`kernels tests: native tests skipped: ${registration.report.reason}`);

export interface Input {
  shape: number[];
  data: Float32Array | Int32Array;
  dtype?: 'float32' | 'int32';
}

/** Deterministic uniform(-1, 1) values (mulberry32). */
export function uniform(shape: number[], seed: number, scale = 1): Input {
  let a = seed >>> 0;
  const n = shape.reduce((p, d) => p * d, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    data[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return { shape, data };
}

/** Runs f on `backend` with fresh tensors of `inputs`; returns the outputs' values. Checks for leaked tensors. */
export async function runOn(
  backend: string,
  inputs: Input[],
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const out = tf.tidy(() => {
    const xs = inputs.map((i) => tf.tensor(i.data, i.shape, i.dtype ?? 'float32'));
    const ys = f(...xs);
    return (Array.isArray(ys) ? ys : [ys]).map((y) => Float32Array.from(y.dataSync()));
  });
  if (tf.memory().numTensors !== before) {
    throw new Error(`${backend}: ${tf.memory().numTensors - before} tensors leaked`);
  }
  return out;
}

/** max |a − b| and max |b| over all elements. */
export function maxDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
    if (Number.isNaN(a[i]!) !== Number.isNaN(b[i]!)) return { diff: Number.POSITIVE_INFINITY, scale };
  }
  return { diff, scale };
}

/** Σ f(xs)·r with a fixed random cotangent r, so that gradients test every output element with its own weight. */
export function weightedSum(y: tf.Tensor, seed: number): tf.Tensor {
  const r = uniform(y.shape, seed);
  return tf.sum(tf.mul(y, tf.tensor(r.data, r.shape)));
}
