// Host-side preparation of a forward pass: token ids, position ids and the additive attention mask
// (causal, optionally with padding and a block-causal segment mask for packed sequences).
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from './errors.js';

/** A (B, T) integer array: nested rows, or row-major data with its shape. */
export type IdsInput = number[][] | { data: Int32Array; shape: [number, number] };

/** Additive mask value for a forbidden key: finite so fully masked rows stay NaN-free. */
export const MASK_VALUE = -1e9;

export function idsShape(ids: IdsInput): [number, number] {
  if (Array.isArray(ids)) {
    const T = ids[0]?.length ?? 0;
    for (const [b, row] of ids.entries()) {
      if (row.length !== T) {
        throw new ShapeError(
          `row ${b} has ${row.length} ids, expected ${T} (pad rows to one length)`,
          'input_ids',
          [ids.length, T],
          [b, row.length],
        );
      }
    }
    return [ids.length, T];
  }
  return ids.shape;
}

export function idsData(ids: IdsInput): Int32Array {
  return Array.isArray(ids) ? Int32Array.from(ids.flat()) : ids.data;
}

function checkLength(name: string, data: Int32Array, expected: number[]): void {
  const n = expected.reduce((a, b) => a * b, 1);
  if (data.length !== n)
    throw new ShapeError(`${name} has ${data.length} values, expected ${n}`, name, expected, [data.length]);
}

/**
 * Position ids (B, T) for tokens at cache offset `past`: from the segments (restarting at 0 in each), else from the
 * attention mask (count of real tokens before, as Hugging Face `generate` does for left padding), else past + t.
 */
export function defaultPositionIds(
  B: number,
  T: number,
  past: number,
  attentionMask?: Int32Array,
  segmentIds?: Int32Array,
): Int32Array {
  const pos = new Int32Array(B * T);
  const Tk = past + T;
  for (let b = 0; b < B; b++) {
    if (segmentIds) {
      let p = 0;
      for (let t = 0; t < T; t++) {
        if (t > 0 && segmentIds[b * T + t] !== segmentIds[b * T + t - 1]) p = 0;
        pos[b * T + t] = p++;
      }
    } else if (attentionMask) {
      // Hugging Face: cumsum(mask) - 1, and 1 at padding
      let seen = 0;
      for (let j = 0; j < Tk; j++) {
        const real = attentionMask[b * Tk + j] !== 0;
        if (real) seen++;
        if (j >= past) pos[b * T + j - past] = real ? seen - 1 : 1;
      }
    } else {
      for (let t = 0; t < T; t++) pos[b * T + t] = past + t;
    }
  }
  return pos;
}

/**
 * Additive mask (B, 1, T, past+T): query t (absolute position past+t) may see key j when j ≤ past+t, the key is
 * not padding (`attentionMask[b, j]` = 1) and, for packed rows, both lie in the same segment.
 */
export function buildAttentionMask(
  B: number,
  T: number,
  past: number,
  attentionMask?: Int32Array,
  segmentIds?: Int32Array,
): tf.Tensor4D {
  const Tk = past + T;
  if (attentionMask) checkLength('attention_mask', attentionMask, [B, Tk]);
  if (segmentIds) {
    checkLength('segment_ids', segmentIds, [B, T]);
    if (past > 0)
      throw new ShapeError('segment_ids cannot be combined with a KV cache', 'segment_ids', [B, T], [B, Tk]);
  }
  const m = new Float32Array(B * T * Tk);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * Tk;
      for (let j = 0; j < Tk; j++) {
        let ok = j <= past + t;
        if (ok && attentionMask) ok = attentionMask[b * Tk + j] !== 0;
        if (ok && segmentIds) ok = segmentIds[b * T + t] === segmentIds[b * T + j];
        m[row + j] = ok ? 0 : MASK_VALUE;
      }
    }
  }
  return tf.tensor4d(m, [B, 1, T, Tk]);
}
