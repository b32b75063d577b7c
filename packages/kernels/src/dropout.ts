// Inverted dropout (Srivastava et al. 2014) with a mask keyed by (seed, element index) (native/elementwise.cc): one
// pass on the native backend, and the same kernel applied to dy is the gradient, so no mask is stored and a recompute
// (gradient checkpointing) with the same seed redraws the same mask. tfjs's own `tf.dropout` draws its uniforms in
// JavaScript (seedrandom) and takes five ops: at LoRA's adapter inputs it made a training step 2.5x slower.
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from './errors.js';
import { customOp, hasNativeKernel, runKernel, sizeOf } from './fused-op.js';
import { f32, type NativeBackend, output } from './native-backend.js';

export const DROPOUT = 'LoralabDropout';

function check(rate: number, seed: number): void {
  if (!(rate >= 0 && rate < 1))
    throw new ConfigError(`dropout: rate must be in [0, 1), found ${rate}`, 'rate');
  if (!Number.isFinite(seed))
    throw new ConfigError(`dropout: seed must be a finite number, found ${seed}`, 'seed');
}

/** The kernel's 64-bit key of a seed: the bits of its float64 value (any finite number; distinct numbers differ). */
function seedKey(seed: number): { seedLow: number; seedHigh: number } {
  const words = new Uint32Array(Float64Array.of(seed).buffer);
  return { seedLow: words[0]!, seedHigh: words[1]! };
}

/**
 * x · mask / (1 − rate), each element kept with probability 1 − rate; the mask is a function of `seed` and the
 * element's index only. On the native backend one fused kernel (forward and gradient); elsewhere `tf.dropout` with
 * the same seed, which draws another mask (the two backends' masks differ).
 */
export function dropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor {
  check(rate, seed);
  if (!hasNativeKernel(DROPOUT)) return tf.dropout(x, rate, undefined, seed);
  const attrs = { rate, ...seedKey(seed) };
  const f = customOp<[tf.Tensor]>(([xs]) => ({
    value: runKernel(DROPOUT, { x: xs }, attrs)[0]!,
    gradFunc: (dy: tf.Tensor) => runKernel(DROPOUT, { x: dy }, attrs),
  }));
  return f(x);
}

export const dropoutKernels: tf.KernelConfig[] = [
  {
    kernelName: DROPOUT,
    backendName: '',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const nb = backend as NativeBackend;
      const { x } = inputs as { x: tf.TensorInfo };
      const n = sizeOf(x.shape);
      const y = nb.alloc(n);
      const { rate, seedLow, seedHigh } = attrs as Record<'rate' | 'seedLow' | 'seedHigh', number>;
      nb.addon.dropout!(f32(nb, x, 'dropout'), y, n, rate, seedLow, seedHigh);
      return output(nb, x.shape, y);
    },
  },
];
