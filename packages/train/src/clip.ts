// Gradient normalisation and clipping by global norm (torch.nn.utils.clip_grad_norm_): the step's gradient is
// g = G / N for summed gradients G over N target tokens; if ‖g‖ > c it is scaled by c / (‖g‖ + 1e-6).
import * as tf from '@tensorflow/tfjs-core';

/** ‖G / divisor‖₂ over every tensor: √(Σ_t Σ_i G_{t,i}²) / divisor, read from the backend as one number. */
export function globalNorm(grads: Iterable<tf.Tensor>, divisor = 1): number {
  const sq = tf.tidy(() => {
    const parts = [...grads].map((g) => tf.sum(tf.square(g)));
    return parts.length === 0 ? 0 : tf.addN(parts).dataSync()[0]!;
  });
  return Math.sqrt(sq) / divisor;
}

/** The clipping factor min(1, c / (‖g‖ + 1e-6)) (torch's), or 1 when `maxNorm` is null. */
export function clipFactor(norm: number, maxNorm: number | null): number {
  return maxNorm === null ? 1 : Math.min(1, maxNorm / (norm + 1e-6));
}

/** Every gradient times `factor`, as new tensors; the inputs are disposed. */
export function scaleGrads(grads: Map<string, tf.Tensor>, factor: number): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [name, g] of grads) {
    out.set(name, tf.mul(g, factor));
    g.dispose();
  }
  return out;
}
