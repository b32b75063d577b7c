// Standard LoRA (Hu et al. 2021): y = W x + b + s · B A x, ΔW = s · B · A, merge W ← W + ΔW, unmerge W ← W − ΔW.
import { linear } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import type { BaseLinear, LoraAdapter, LoraVariant } from './variant.js';

/** s · B · A (out, in), the LoRA update. */
export function loraDelta(adapter: LoraAdapter): tf.Tensor2D {
  return tf.tidy(() =>
    tf.mul(
      tf.matMul(adapter.loraB.variable as tf.Tensor2D, adapter.loraA.variable as tf.Tensor2D),
      adapter.scaling,
    ),
  );
}

/**
 * The adapter's term s · B (A xd) for xd (N, in) -> (N, out), as two thin products (N, in)·(in, r) and
 * (N, r)·(r, out): O(N·r·(in + out)) instead of forming B·A. Gradients reach A and B only when they are trainable.
 */
export function loraTerm(adapter: LoraAdapter, xd: tf.Tensor2D): tf.Tensor2D {
  const A = adapter.loraA.variable;
  const B = adapter.loraB.variable;
  const t = linear(xd, A as tf.Tensor as tf.Tensor2D, null, A.trainable); // (N, r) = xd Aᵀ
  return linear(tf.mul(t, adapter.scaling) as tf.Tensor2D, B as tf.Tensor as tf.Tensor2D, null, B.trainable); // (N, out)
}

export const standardLora: LoraVariant = {
  kind: 'lora',
  init() {},
  forward(
    _base: BaseLinear,
    adapter: LoraAdapter,
    _x: tf.Tensor2D,
    xDropped: tf.Tensor2D,
    result: tf.Tensor2D,
  ) {
    return tf.add(result, loraTerm(adapter, xDropped));
  },
  deltaWeight(_base: BaseLinear, adapter: LoraAdapter) {
    return loraDelta(adapter);
  },
  merge(base: BaseLinear, adapter: LoraAdapter) {
    return tf.tidy(() => tf.add(base.weight, loraDelta(adapter)));
  },
  unmerge(base: BaseLinear, adapter: LoraAdapter) {
    return tf.tidy(() => tf.sub(base.weight, loraDelta(adapter)));
  },
};
