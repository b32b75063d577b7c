// SwiGLU feed-forward (Shazeer 2020) as Hugging Face `LlamaMLP`: down_proj(silu(gate_proj(x)) ⊙ up_proj(x)).
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
    const h = swiglu(proj.gate_proj.apply(x, ctx), proj.up_proj.apply(x, ctx)) as tf.Tensor2D; // (N, I)
    return proj.down_proj.apply(h, ctx);
  });
}
