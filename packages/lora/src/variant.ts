// The small interface a LoRA variant implements (PEFT: `LoraVariant` in peft/tuners/lora/layer.py), and the
// standard variant of Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models":
//   y = W x + b + s · B (A (dropout(x))),  A (r, in), B (out, r),  ΔW = s · B · A.
// A variant is chosen once per adapter (`use_dora` picks DoRA) so `LoraLinear.apply` has no branches on it.
import type { Parameter } from '@loralab/model';
import type * as tf from '@tensorflow/tfjs-core';

/** One adapter on one linear: its hyper-parameters and tensors. The `LoraLinear` that holds it owns them. */
export interface LoraAdapter {
  /** Adapter name, e.g. `default`. */
  readonly name: string;
  readonly r: number;
  readonly alpha: number;
  /** s = α / r, or α / √r with rsLoRA. */
  readonly scaling: number;
  /** Dropout probability on the adapter's input (training only). */
  readonly dropout: number;
  /** A (r, in). */
  readonly loraA: Parameter;
  /** B (out, r). */
  readonly loraB: Parameter;
  /** Extra parameters of the variant by PEFT's attribute name (DoRA: `lora_magnitude_vector`, shape (out)). */
  readonly extra: Map<string, Parameter>;
  /** Values a variant keeps between merge and unmerge (DoRA: the weight norm). Owned by the adapter. */
  readonly cache: Map<string, tf.Tensor>;
  readonly variant: LoraVariant;
}

/** What a variant sees of the linear it sits on. */
export interface BaseLinear {
  /** Module name. */
  readonly name: string;
  /** W (out, in): the base weight (possibly with merged adapters in it). */
  readonly weight: tf.Tensor2D;
  /** b (out) or null. */
  readonly bias: tf.Tensor1D | null;
}

export interface LoraVariant {
  /** `lora` or `dora`. */
  readonly kind: string;
  /** Creates the variant's extra parameters from the initialised A, B and W (called once, after A and B are set). */
  init(base: BaseLinear, adapter: LoraAdapter, trainable: boolean): void;
  /**
   * The forward pass with this adapter: `result` = the base output W x + b (and earlier adapters' terms) for input
   * x (N, in); returns the new result (N, out). `xDropped` is dropout(x) (x itself when no dropout applies).
   */
  forward(
    base: BaseLinear,
    adapter: LoraAdapter,
    x: tf.Tensor2D,
    xDropped: tf.Tensor2D,
    result: tf.Tensor2D,
  ): tf.Tensor2D;
  /** The effective update W_eff − W (out, in) this adapter makes to `base.weight`. */
  deltaWeight(base: BaseLinear, adapter: LoraAdapter): tf.Tensor2D;
  /** The weight with this adapter merged in, computed from the unmerged `base.weight` (may fill `adapter.cache`). */
  merge(base: BaseLinear, adapter: LoraAdapter): tf.Tensor2D;
  /** The weight with this adapter taken out again, from the merged `base.weight` (empties what `merge` cached). */
  unmerge(base: BaseLinear, adapter: LoraAdapter): tf.Tensor2D;
}
