// RMSNorm (Zhang & Sennrich 2019, arXiv 1910.07467) as in HF LlamaRMSNorm: y = x / sqrt(mean(x², -1) + eps) · w.
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from './errors.js';
import { customOp, hasNativeKernel, runKernel, sizeOf } from './fused-op.js';
import { f32, type NativeBackend, output } from './native-backend.js';

export const RMS_NORM = 'LoralabRmsNorm';
export const RMS_NORM_GRAD = 'LoralabRmsNormGrad';

/** Reference: x (..., d), weight (d) → (..., d), from tfjs ops (autodiff by tfjs). */
export function rmsNormReference(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), weight));
}

function check(x: tf.TensorInfo, weight: tf.TensorInfo): number {
  const d = x.shape[x.shape.length - 1] ?? 0;
  if (weight.shape.length !== 1 || weight.shape[0] !== d) {
    throw new ShapeError(
      `rmsNorm: weight must be (${d}) for x ${JSON.stringify(x.shape)}, found ${JSON.stringify(weight.shape)}`,
      'rmsNorm',
      `(${d})`,
      JSON.stringify(weight.shape),
    );
  }
  return d;
}

/** RMSNorm over the last axis; native forward and backward on the native backend. */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor, eps = 1e-6): tf.Tensor {
  if (!hasNativeKernel(RMS_NORM)) return rmsNormReference(x, weight, eps);
  check(x, weight);
  const f = customOp<[tf.Tensor, tf.Tensor]>(([xs, w], save) => {
    const [y, rstd] = runKernel(RMS_NORM, { x: xs, weight: w }, { eps }) as [tf.Tensor, tf.Tensor];
    save([xs, w, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw, srstd] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        return runKernel(RMS_NORM_GRAD, { dy, x: sx, weight: sw, rstd: srstd });
      },
    };
  });
  return f(x, weight);
}

export const rmsNormKernels: tf.KernelConfig[] = [
  {
    kernelName: RMS_NORM,
    backendName: '',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const nb = backend as NativeBackend;
      const { x, weight } = inputs as { x: tf.TensorInfo; weight: tf.TensorInfo };
      const d = check(x, weight);
      const rows = d === 0 ? 0 : sizeOf(x.shape) / d;
      const y = nb.alloc(rows * d);
      const rstd = nb.alloc(rows); // 1 / sqrt(mean(x²) + eps) per row, for the backward pass
      nb.addon.rmsnormForward(
        f32(nb, x, 'rmsNorm'),
        f32(nb, weight, 'rmsNorm'),
        y,
        rstd,
        rows,
        d,
        attrs!.eps as number,
      );
      return [output(nb, x.shape, y), output(nb, x.shape.slice(0, -1), rstd)];
    },
  },
  {
    kernelName: RMS_NORM_GRAD,
    backendName: '',
    kernelFunc: ({ inputs, backend }) => {
      const nb = backend as NativeBackend;
      const { dy, x, weight, rstd } = inputs as Record<'dy' | 'x' | 'weight' | 'rstd', tf.TensorInfo>;
      const d = check(x, weight);
      const rows = d === 0 ? 0 : sizeOf(x.shape) / d;
      const dx = nb.alloc(rows * d);
      const dw = nb.alloc(d);
      nb.addon.rmsnormBackward(
        f32(nb, dy, 'rmsNorm'),
        f32(nb, x, 'rmsNorm'),
        f32(nb, weight, 'rmsNorm'),
        f32(nb, rstd, 'rmsNorm'),
        dx,
        dw,
        rows,
        d,
      );
      return [output(nb, x.shape, dx), output(nb, [d], dw)];
    },
  },
];
