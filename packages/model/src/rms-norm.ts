// RMSNorm (Zhang & Sennrich 2019) as Hugging Face `LlamaRMSNorm`: y = w ⊙ x / sqrt(mean(x²) + eps).
import * as tf from '@tensorflow/tfjs-core';

/** x (..., d), weight (d) -> (..., d). */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor1D, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const variance = tf.mean(tf.square(x), -1, true); // (..., 1)
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(variance, eps))), weight);
  });
}
