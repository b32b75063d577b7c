// Rotary position embeddings (Su et al. 2021, RoFormer, arXiv 2104.09864) in the HF Llama convention:
// y = x·cos + rotate_half(x)·sin, rotate_half(x) = cat(−x[..., d/2:], x[..., :d/2]).
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from './errors.js';
import {
  checkLayout,
  customOp,
  type HeadLayout,
  hasNativeKernel,
  headDims,
  runKernel,
  sizeOf,
} from './fused-op.js';
import { f32, type NativeBackend, output } from './native-backend.js';

export const ROPE = 'LoralabRope';

/** Reference: x (B, H, T, hd) (or (B, T, H, hd) for 'bthd'), cos/sin (Bc, 1, T, hd) with Bc ∈ {1, B}, from tfjs ops. */
export function ropeReference(
  x: tf.Tensor,
  cos: tf.Tensor,
  sin: tf.Tensor,
  layout: HeadLayout = 'bhtd',
): tf.Tensor {
  checkLayout(layout, 'rope');
  if (layout === 'bthd') {
    return tf.tidy(() => tf.transpose(ropeReference(tf.transpose(x, [0, 2, 1, 3]), cos, sin), [0, 2, 1, 3]));
  }
  return tf.tidy(() => {
    const half = x.shape[3]! / 2;
    const [x1, x2] = tf.split(x, [half, half], 3) as [tf.Tensor, tf.Tensor];
    const rotated = tf.concat([tf.neg(x2), x1], 3); // (B, H, T, hd)
    return tf.add(tf.mul(x, cos), tf.mul(rotated, sin));
  });
}

function check(
  x: tf.TensorInfo,
  cos: tf.TensorInfo,
  sin: tf.TensorInfo,
  layout: HeadLayout,
): [number, number, number, number, number] {
  const [B, H, T, hd] = headDims(x.shape, layout);
  const Bc = cos.shape[0] ?? 0;
  const ok =
    x.shape.length === 4 &&
    hd % 2 === 0 &&
    tf.util.arraysEqual(cos.shape, sin.shape) &&
    cos.shape.length === 4 &&
    (Bc === 1 || Bc === B) &&
    cos.shape[1] === 1 &&
    cos.shape[2] === T &&
    cos.shape[3] === hd;
  if (!ok) {
    throw new ShapeError(
      `rope: expected x (B, H, T, hd) ('${layout}' order) with even hd and cos/sin (1 or B, 1, T, hd); found x ${JSON.stringify(x.shape)}, ` +
        `cos ${JSON.stringify(cos.shape)}, sin ${JSON.stringify(sin.shape)}`,
      'rope',
      '(B, H, T, hd), (1|B, 1, T, hd)',
      `${JSON.stringify(x.shape)}, ${JSON.stringify(cos.shape)}`,
    );
  }
  return [B, H, T, hd, Bc];
}

/**
 * Rotates x (B, H, T, hd) (or (B, T, H, hd) with layout 'bthd') by the angle tables cos/sin (Bc, 1, T, hd). The
 * gradient flows to x only: the tables are constants of the positions (they get no gradient).
 */
export function applyRope(
  x: tf.Tensor,
  cos: tf.Tensor,
  sin: tf.Tensor,
  layout: HeadLayout = 'bhtd',
): tf.Tensor {
  checkLayout(layout, 'rope');
  if (!hasNativeKernel(ROPE)) return ropeReference(x, cos, sin, layout);
  check(x, cos, sin, layout);
  const seqMajor = layout === 'bthd';
  // The tables are saved but are not inputs: the tape never asks for (and nothing allocates) their gradients, and
  // the saved copies outlive the caller's tables until the backward pass.
  const f = customOp<[tf.Tensor]>(([xs], save) => {
    save([cos, sin]);
    return {
      value: runKernel(ROPE, { x: xs, cos, sin }, { inverse: false, seqMajor })[0]!,
      // dx = Rᵀ·dy: the same rotation with the angles negated
      gradFunc: (dy: tf.Tensor, [sc, ss]: tf.Tensor[]) => [
        runKernel(ROPE, { x: dy, cos: sc!, sin: ss! }, { inverse: true, seqMajor })[0]!,
      ],
    };
  });
  return f(x);
}

export const ropeKernels: tf.KernelConfig[] = [
  {
    kernelName: ROPE,
    backendName: '',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const nb = backend as NativeBackend;
      const { x, cos, sin } = inputs as Record<'x' | 'cos' | 'sin', tf.TensorInfo>;
      const seqMajor = attrs!.seqMajor === true;
      const [B, H, T, hd, Bc] = check(x, cos, sin, seqMajor ? 'bthd' : 'bhtd');
      const y = nb.alloc(sizeOf(x.shape));
      nb.addon.rope(
        f32(nb, x, 'rope'),
        f32(nb, cos, 'rope'),
        f32(nb, sin, 'rope'),
        y,
        B,
        H,
        T,
        hd,
        Bc,
        attrs!.inverse === true,
        seqMajor,
      );
      return output(nb, x.shape, y);
    },
  },
];
