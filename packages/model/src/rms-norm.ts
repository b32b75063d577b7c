// RMSNorm (Zhang & Sennrich 2019) as Hugging Face `LlamaRMSNorm`: y = w ⊙ x / sqrt(mean(x²) + eps).
// On the native backend of @loralab/kernels the fused native kernel runs (forward and backward in one pass each);
// elsewhere the tfjs implementation with its memory-lean gradient in fused.ts, which is also the reference.
import { nativeBackendActive, rmsNorm as nativeRmsNorm } from '@loralab/kernels';
import type * as tf from '@tensorflow/tfjs-core';
import { rmsNorm as tfjsRmsNorm } from './fused.js';

/** x (…, d), weight (d) -> (…, d), normalised over the last axis. */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor1D, eps: number): tf.Tensor {
  return nativeBackendActive() ? nativeRmsNorm(x, weight, eps) : tfjsRmsNorm(x, weight, eps);
}
