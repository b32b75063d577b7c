// SwiGLU feed-forward (Shazeer 2020) as Hugging Face `LlamaMLP`: down_proj(silu(gate_proj(x)) ⊙ up_proj(x)).
import { nativeBackendActive, swiglu as nativeSwiglu } from '@loralab/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { swiglu } from './fused.js';
import type { ForwardContext, Projection } from './projection.js';

export interface MlpProjections {
  gate_proj: Projection;
  up_proj: Projection;
  down_proj: Projection;
}

/** x (N, d) -> (N, d). */
export function mlp(x: tf.Tensor2D, proj: MlpProjections, ctx: ForwardContext): tf.Tensor2D {
  return tf.tidy(() => {
    const gate = proj.gate_proj.apply(x, ctx); // (N, I)
    const up = proj.up_proj.apply(x, ctx); // (N, I)
    const h = (nativeBackendActive() ? nativeSwiglu(gate, up) : swiglu(gate, up)) as tf.Tensor2D; // (N, I)
    return proj.down_proj.apply(h, ctx);
  });
}
