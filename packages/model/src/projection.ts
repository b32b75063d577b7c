// The projection seam: every linear map of the model is a named `Projection`, looked up by its Hugging Face
// module name (`model.layers.0.self_attn.q_proj`, ..., `lm_head`). Another package (e.g. @loralab/lora) replaces a
// projection by a wrapper that calls the original and adds its own term; the model never knows what wraps it.
import type * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from './errors.js';
import { linear } from './ops.js';

/** A named trainable or frozen tensor. Its trainability is `variable.trainable`. */
export interface Parameter {
  /** Checkpoint key, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  readonly name: string;
  readonly variable: tf.Variable;
}

/** What a forward pass tells the layers it runs through. */
export interface ForwardContext {
  /** True during training: dropout is active. */
  readonly training: boolean;
  /** A fresh seed for each dropout mask (deterministic sequence per forward call). */
  nextSeed(): number;
}

/** A linear map (N, in) -> (N, out) that the model calls by module name. */
export interface Projection {
  /** Module name, e.g. `model.layers.0.mlp.up_proj`. */
  readonly name: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** x (N, in) -> (N, out). Must not dispose x. */
  apply(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D;
  /** Parameters this projection adds beyond the model's own (a wrapper's adapters); the base linear has none. */
  extraParameters?(): Parameter[];
}

/** The base projection: y = x Wᵀ + b with W `[out, in]` as in Hugging Face / PyTorch `nn.Linear`. */
export class Linear implements Projection {
  constructor(
    readonly name: string,
    readonly weight: Parameter,
    readonly bias: Parameter | null = null,
  ) {}

  get inFeatures(): number {
    return this.weight.variable.shape[1]!;
  }

  get outFeatures(): number {
    return this.weight.variable.shape[0]!;
  }

  apply(x: tf.Tensor2D, _ctx: ForwardContext): tf.Tensor2D {
    if (x.shape[1] !== this.inFeatures) {
      throw new ShapeError(
        `${this.name}: input has ${x.shape[1]} features, expected ${this.inFeatures}`,
        this.name,
        [null, this.inFeatures],
        x.shape,
      );
    }
    const w = this.weight.variable as tf.Tensor as tf.Tensor2D;
    const b = this.bias ? (this.bias.variable as tf.Tensor as tf.Tensor1D) : null;
    const trainable = this.weight.variable.trainable || (this.bias?.variable.trainable ?? false);
    return linear(x, w, b, trainable);
  }
}
