// Rotary position embeddings (Su et al. 2021, RoFormer) in the Hugging Face Llama convention:
// q' = q·cos + rotate_half(q)·sin with rotate_half(x) = cat(-x[..., d/2:], x[..., :d/2]) and
// cos/sin = cat(θ·p, θ·p) over the two halves. Frequency scaling as HF `ROPE_INIT_FUNCTIONS` (linear, llama3).
import { applyRope as nativeApplyRope, nativeBackendActive } from '@loralab/kernels';
import * as tf from '@tensorflow/tfjs-core';
import type { LlamaConfig } from './config.js';
import { rope } from './fused.js';

/** Inverse frequencies θ_i = base^(-2i/d), i < d/2, scaled per `rope_scaling`. Length head_dim / 2. */
export function ropeInverseFrequencies(config: LlamaConfig): Float32Array {
  const dim = config.head_dim;
  const inv = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) inv[i] = 1 / config.rope_theta ** ((2 * i) / dim);
  const s = config.rope_scaling;
  if (s === null) return inv;
  switch (s.rope_type) {
    case 'linear':
      // positions / factor, folded into the frequencies
      for (let i = 0; i < inv.length; i++) inv[i] = inv[i]! / s.factor;
      return inv;
    case 'llama3': {
      // Llama 3.1: long wavelengths are divided by `factor`, short ones kept, the band between interpolated.
      const old = s.original_max_position_embeddings;
      const lowWavelen = old / s.low_freq_factor;
      const highWavelen = old / s.high_freq_factor;
      for (let i = 0; i < inv.length; i++) {
        const f = inv[i]!;
        const wavelen = (2 * Math.PI) / f;
        if (wavelen > lowWavelen) inv[i] = f / s.factor;
        else if (wavelen >= highWavelen) {
          const smooth = (old / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
          inv[i] = ((1 - smooth) * f) / s.factor + smooth * f;
        }
      }
      return inv;
    }
    default: {
      const never: never = s;
      throw new Error(`unknown rope_scaling ${JSON.stringify(never)}`);
    }
  }
}

/**
 * cos and sin tables for position ids (B, T) (row-major), each (B, 1, T, head_dim), broadcast over heads.
 * Computed in float32 like the reference: angle = f32(θ_i) · p, rounded to float32 before cos/sin.
 */
export function ropeTables(
  invFreq: Float32Array,
  positionIds: Int32Array,
  batch: number,
  seq: number,
): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
  const half = invFreq.length;
  const dim = 2 * half;
  const cos = new Float32Array(batch * seq * dim);
  const sin = new Float32Array(batch * seq * dim);
  const angle = new Float32Array(1);
  for (let n = 0; n < batch * seq; n++) {
    const p = positionIds[n]!;
    for (let i = 0; i < half; i++) {
      angle[0] = invFreq[i]! * p;
      const c = Math.cos(angle[0]!);
      const s = Math.sin(angle[0]!);
      cos[n * dim + i] = c;
      cos[n * dim + half + i] = c;
      sin[n * dim + i] = s;
      sin[n * dim + half + i] = s;
    }
  }
  return { cos: tf.tensor4d(cos, [batch, 1, seq, dim]), sin: tf.tensor4d(sin, [batch, 1, seq, dim]) };
}

/**
 * x (B, h, T, hs) -> x·cos + rotate_half(x)·sin for tables (1 or B, 1, T, hs): the native kernel on the native
 * backend, else the tfjs composite with its fused gradient (fused.ts).
 */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  return (nativeBackendActive() ? nativeApplyRope(x, cos, sin) : rope(x, cos, sin)) as tf.Tensor4D;
}
