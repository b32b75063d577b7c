// SwiGLU (Shazeer 2020, arXiv 2002.05202) as in the Llama MLP: silu(gate) · up, with silu(g) = g·σ(g).
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from './errors.js';
import { customOp, hasNativeKernel, runKernel, sizeOf } from './fused-op.js';
import { f32, type NativeBackend, output } from './native-backend.js';

export const SWIGLU = 'LoralabSwiGlu';
export const SWIGLU_GRAD = 'LoralabSwiGluGrad';

/** Reference: silu(gate) · up from tfjs ops. */
export function swigluReference(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(gate, tf.sigmoid(gate)), up));
}

function check(gate: tf.TensorInfo, up: tf.TensorInfo): void {
  if (!tf.util.arraysEqual(gate.shape, up.shape)) {
    throw new ShapeError(
      `swiglu: gate ${JSON.stringify(gate.shape)} and up ${JSON.stringify(up.shape)} must have one shape`,
      'swiglu',
      JSON.stringify(gate.shape),
      JSON.stringify(up.shape),
    );
  }
}

/** silu(gate) · up, elementwise; gate and up of one shape. */
export function swiglu(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  if (!hasNativeKernel(SWIGLU)) return swigluReference(gate, up);
  check(gate, up);
  const f = customOp<[tf.Tensor, tf.Tensor]>(([g, u], save) => {
    save([g, u]);
    return {
      value: runKernel(SWIGLU, { gate: g, up: u })[0]!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        runKernel(SWIGLU_GRAD, { dy, gate: saved[0]!, up: saved[1]! }),
    };
  });
  return f(gate, up);
}

export const swigluKernels: tf.KernelConfig[] = [
  {
    kernelName: SWIGLU,
    backendName: '',
    kernelFunc: ({ inputs, backend }) => {
      const nb = backend as NativeBackend;
      const { gate, up } = inputs as { gate: tf.TensorInfo; up: tf.TensorInfo };
      check(gate, up);
      const n = sizeOf(gate.shape);
      const y = nb.alloc(n);
      nb.addon.swigluForward(f32(nb, gate, 'swiglu'), f32(nb, up, 'swiglu'), y, n);
      return output(nb, gate.shape, y);
    },
  },
  {
    kernelName: SWIGLU_GRAD,
    backendName: '',
    kernelFunc: ({ inputs, backend }) => {
      const nb = backend as NativeBackend;
      const { dy, gate, up } = inputs as Record<'dy' | 'gate' | 'up', tf.TensorInfo>;
      const n = sizeOf(gate.shape);
      const dg = nb.alloc(n);
      const du = nb.alloc(n);
      nb.addon.swigluBackward(
        f32(nb, dy, 'swiglu'),
        f32(nb, gate, 'swiglu'),
        f32(nb, up, 'swiglu'),
        dg,
        du,
        n,
      );
      return [output(nb, gate.shape, dg), output(nb, gate.shape, du)];
    },
  },
];
