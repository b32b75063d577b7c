// Initial values of A (r, in) and B (out, r) for `init_lora_weights` (PEFT: `LoraLayer.reset_lora_parameters`):
//   true        A ~ U(−1/√in, 1/√in) (kaiming_uniform_ with a = √5, PyTorch nn.Linear's init), B = 0
//   "gaussian"  A ~ N(0, (1/r)²), B = 0
//   false       A ~ U(±1/√in), B ~ U(±1/√r) (both left at nn.Linear's init: the adapter is not the identity)
// PiSSA, which also rewrites W, is in pissa.ts.
import * as tf from '@tensorflow/tfjs-core';
import type { LoraInit } from './config.js';

/** A and B (float32) for every init but PiSSA; `seed` makes the draw reproducible on every backend. */
export function randomLoraWeights(
  init: Exclude<LoraInit, { kind: 'pissa' }>,
  r: number,
  inFeatures: number,
  outFeatures: number,
  seed: number,
): { A: tf.Tensor2D; B: tf.Tensor2D } {
  return tf.tidy(() => {
    const boundA = 1 / Math.sqrt(inFeatures); // kaiming_uniform_(a=√5): gain √(2/(1+5)), bound = gain·√3/√fan_in
    switch (init.kind) {
      case 'kaiming':
        return {
          A: tf.randomUniform([r, inFeatures], -boundA, boundA, 'float32', seed) as tf.Tensor2D,
          B: tf.zeros([outFeatures, r]) as tf.Tensor2D,
        };
      case 'gaussian':
        return {
          A: tf.randomNormal([r, inFeatures], 0, 1 / r, 'float32', seed) as tf.Tensor2D,
          B: tf.zeros([outFeatures, r]) as tf.Tensor2D,
        };
      case 'random': {
        const boundB = 1 / Math.sqrt(r);
        return {
          A: tf.randomUniform([r, inFeatures], -boundA, boundA, 'float32', seed) as tf.Tensor2D,
          B: tf.randomUniform([outFeatures, r], -boundB, boundB, 'float32', seed + 1) as tf.Tensor2D,
        };
      }
      default: {
        const never: never = init;
        throw new Error(`unknown init ${JSON.stringify(never)}`);
      }
    }
  });
}
