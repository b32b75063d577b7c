// Batched token sampling on the native addon: one token per row of logits with the row's uniform draw, as
// @loralab/model's sampleToken defines it (temperature, then top-k, then top-p; see native/sampling.cc).
import * as tf from '@tensorflow/tfjs-core';
import { NativeBackend } from './native-backend.js';

export interface RowSampling {
  /** > 0 (greedy choice is an argmax and needs no kernel). */
  temperature: number;
  /** 0 or undefined = all tokens. */
  topK?: number;
  /** 1 or undefined = all tokens. */
  topP?: number;
}

/**
 * Samples one token id per row of `logits` (B·V, row-major) with the draw u[b] ∈ [0, 1) of each row, on the active
 * native backend's addon. Returns null when the active backend is not native or its addon predates the kernel; the
 * caller then samples row by row in JavaScript (the same definition, the same tokens).
 */
export function sampleRowsNative(
  logits: Float32Array,
  V: number,
  u: Float64Array,
  options: RowSampling,
): Int32Array | null {
  const backend = tf.findBackend(tf.getBackend());
  if (!(backend instanceof NativeBackend) || backend.addon.sampleRows === undefined) return null;
  const B = u.length;
  if (logits.length !== B * V) {
    throw new RangeError(`sampleRowsNative: logits hold ${logits.length} values, expected ${B} rows of ${V}`);
  }
  const out = new Int32Array(B);
  backend.addon.sampleRows(logits, u, out, B, V, options.temperature, options.topK ?? 0, options.topP ?? 1);
  return out;
}
