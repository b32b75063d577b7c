// DoRA (Liu et al. 2024, "DoRA: Weight-Decomposed Low-Rank Adaptation", arXiv 2402.09353) as PEFT implements it
// (peft/tuners/lora/dora.py, `DoraLinearLayer`): the adapted weight is a magnitude vector m (out) times the
// row-normalised direction V = W + s·B·A,
//   W' = (m / ‖V‖_row) ⊙ V,  ‖V‖_row[i] = ‖V[i, :]‖₂  (PEFT takes the norm over dim 1 of the (out, in) weight),
// with m initialised to ‖W + s·B·A‖_row (= ‖W‖_row when B = 0) so the adapter starts as the identity. As the paper
// (§4.3) and PEFT do, ‖V‖_row is treated as a constant in backpropagation. Forward (PEFT's formula):
//   y = W x + b + (m/‖V‖ − 1) ⊙ (W x) + (m/‖V‖) ⊙ s · B A x
// where, with dropout active in training, W x in the last two terms is W·dropout(x).
import { linear, type Parameter } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import { loraDelta, loraTerm } from './standard-lora.js';
import type { BaseLinear, LoraAdapter, LoraVariant } from './variant.js';

/** PEFT's attribute (and saved key) name of the magnitude. */
export const MAGNITUDE = 'lora_magnitude_vector';

/** ‖W + s·B·A‖ per output row (out), with no gradient to A or B (a constant for backprop, as in the paper). */
export function doraWeightNorm(base: BaseLinear, adapter: LoraAdapter): tf.Tensor1D {
  const norm = tf.customGrad((a, b) => ({
    value: tf.tidy(() => {
      const v = tf.add(base.weight, tf.mul(tf.matMul(b as tf.Tensor2D, a as tf.Tensor2D), adapter.scaling)); // (out, in)
      return tf.sqrt(tf.sum(tf.square(v), 1)); // (out)
    }),
    gradFunc: () => [tf.zerosLike(a as tf.Tensor), tf.zerosLike(b as tf.Tensor)],
  }));
  return norm(adapter.loraA.variable, adapter.loraB.variable) as tf.Tensor1D;
}

function magnitude(adapter: LoraAdapter): tf.Variable {
  const m = adapter.extra.get(MAGNITUDE);
  if (!m) throw new Error(`DoRA adapter '${adapter.name}' has no ${MAGNITUDE}`);
  return m.variable;
}

export const dora: LoraVariant = {
  kind: 'dora',
  init(base: BaseLinear, adapter: LoraAdapter, trainable: boolean) {
    const value = doraWeightNorm(base, adapter);
    const name = adapter.loraA.name.replace(/\.lora_A\.([^.]+)\.weight$/, `.${MAGNITUDE}.$1.weight`);
    const p: Parameter = {
      name,
      variable: tf.variable(value, trainable, `${name}#${Math.random().toString(36).slice(2)}`),
    };
    value.dispose();
    adapter.extra.set(MAGNITUDE, p);
  },
  forward(
    base: BaseLinear,
    adapter: LoraAdapter,
    _x: tf.Tensor2D,
    xDropped: tf.Tensor2D,
    result: tf.Tensor2D,
  ) {
    const m = magnitude(adapter);
    const factor = tf.div(m, doraWeightNorm(base, adapter)); // m / ‖V‖_row (out)
    // W·x without bias: PEFT's base result minus b, or W·dropout(x) when dropout is active (xDropped is x otherwise).
    const wx = linear(xDropped, base.weight, null, false); // (N, out)
    const doraTerm = tf.add(tf.mul(tf.sub(factor, 1), wx), tf.mul(factor, loraTerm(adapter, xDropped))); // (N, out)
    return tf.add(result, doraTerm);
  },
  deltaWeight(base: BaseLinear, adapter: LoraAdapter) {
    return tf.tidy(() => {
      const factor = tf.reshape(tf.div(magnitude(adapter), doraWeightNorm(base, adapter)), [-1, 1]); // (out, 1)
      return tf.sub(tf.mul(factor, tf.add(base.weight, loraDelta(adapter))), base.weight) as tf.Tensor2D;
    });
  },
  merge(base: BaseLinear, adapter: LoraAdapter) {
    const norm = doraWeightNorm(base, adapter);
    adapter.cache.get(`${MAGNITUDE}-weight_norm`)?.dispose();
    adapter.cache.set(`${MAGNITUDE}-weight_norm`, norm);
    return tf.tidy(() => {
      const factor = tf.reshape(tf.div(magnitude(adapter), norm), [-1, 1]);
      return tf.mul(factor, tf.add(base.weight, loraDelta(adapter))) as tf.Tensor2D;
    });
  },
  unmerge(base: BaseLinear, adapter: LoraAdapter) {
    const key = `${MAGNITUDE}-weight_norm`;
    const norm = adapter.cache.get(key);
    if (!norm)
      throw new Error(`DoRA adapter '${adapter.name}' on ${base.name}: unmerge without a cached weight norm`);
    adapter.cache.delete(key);
    const out = tf.tidy(() => {
      const factor = tf.reshape(tf.div(magnitude(adapter), norm), [-1, 1]);
      return tf.sub(tf.div(base.weight, factor), loraDelta(adapter)) as tf.Tensor2D;
    });
    norm.dispose();
    return out;
  },
};
