// Fused differentiable ops with hand-written gradients that keep only what the gradient needs. Built from tfjs
// primitives, each would keep several activation-sized temporaries alive until the end of backprop (tfjs frees
// saved tensors only when the whole gradient is done), which made a training step's memory about 3x larger.
import * as tf from '@tensorflow/tfjs-core';
import './gradients.js';

/**
 * RMSNorm: y = w ⊙ x̂ with x̂ = x · r, r = 1/sqrt(mean(x²) + eps), over the last axis (Zhang & Sennrich 2019).
 * Keeps x and r (…, 1). Gradient with g = dy ⊙ w: dx = r (g − x̂ · mean(g ⊙ x̂)), dw = Σ_rows dy ⊙ x̂.
 */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor1D, eps: number): tf.Tensor {
  const f = tf.customGrad((xi, wi, save) => {
    const xs = xi as tf.Tensor;
    const r = tf.tidy(() => tf.rsqrt(tf.add(tf.mean(tf.square(xs), -1, true), eps))); // (…, 1)
    (save as tf.GradSaveFunc)([xs, wi as tf.Tensor, r]);
    return {
      value: tf.tidy(() => tf.mul(tf.mul(xs, r), wi as tf.Tensor)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [x0, w0, r0] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const d = x0.shape[x0.rank - 1]!;
        const xhat = tf.mul(x0, r0);
        const g = tf.mul(dy, w0);
        const dx = tf.mul(r0, tf.sub(g, tf.mul(xhat, tf.mean(tf.mul(g, xhat), -1, true))));
        const dw = tf.sum(tf.reshape(tf.mul(dy, xhat), [-1, d]), 0);
        return [dx, dw];
      },
    };
  });
  return f(x, weight);
}

/** SwiGLU's gate: silu(g) ⊙ u. Keeps g and u. dg = dy ⊙ u ⊙ σ(g)(1 + g(1 − σ(g))), du = dy ⊙ silu(g). */
export function swiglu(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((g, u, save) => {
    (save as tf.GradSaveFunc)([g as tf.Tensor, u as tf.Tensor]);
    return {
      value: tf.tidy(() => tf.mul(tf.mul(g as tf.Tensor, tf.sigmoid(g as tf.Tensor)), u as tf.Tensor)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [g0, u0] = saved as [tf.Tensor, tf.Tensor];
        const s = tf.sigmoid(g0);
        const dsilu = tf.mul(s, tf.add(1, tf.mul(g0, tf.sub(1, s))));
        return [tf.mul(tf.mul(dy, u0), dsilu), tf.mul(dy, tf.mul(g0, s))];
      },
    };
  });
  return f(gate, up);
}

/** rotate_half: (x₁, x₂) -> (−x₂, x₁) over the halves of the last axis. */
function rotateHalf(x: tf.Tensor): tf.Tensor {
  const half = x.shape[x.rank - 1]! / 2;
  const [x1, x2] = tf.split(x, [half, half], -1) as [tf.Tensor, tf.Tensor];
  return tf.concat([tf.neg(x2), x1], -1);
}

/** The transpose of rotate_half: (z₁, z₂) -> (z₂, −z₁). */
function rotateHalfT(z: tf.Tensor): tf.Tensor {
  const half = z.shape[z.rank - 1]! / 2;
  const [z1, z2] = tf.split(z, [half, half], -1) as [tf.Tensor, tf.Tensor];
  return tf.concat([z2, tf.neg(z1)], -1);
}

/**
 * Rotary embedding x·cos + rotate_half(x)·sin (Hugging Face convention), linear in x, so nothing of x is kept:
 * dx = dy·cos + rotate_halfᵀ(dy·sin). cos and sin (broadcastable to x) get no gradient.
 */
export function rope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((xi, c, s, save) => {
    (save as tf.GradSaveFunc)([c as tf.Tensor, s as tf.Tensor]);
    return {
      value: tf.tidy(() =>
        tf.add(tf.mul(xi as tf.Tensor, c as tf.Tensor), tf.mul(rotateHalf(xi as tf.Tensor), s as tf.Tensor)),
      ),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [c0, s0] = saved as [tf.Tensor, tf.Tensor];
        return [tf.add(tf.mul(dy, c0), rotateHalfT(tf.mul(dy, s0))), tf.zerosLike(c0), tf.zerosLike(s0)];
      },
    };
  });
  return f(x, cos, sin);
}

/** a + b for tensors of one shape (the residual stream), keeping neither. */
export function residualAdd(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((ai, bi) => ({
    value: tf.add(ai as tf.Tensor, bi as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => [tf.clone(dy), tf.clone(dy)],
  }));
  return f(a, b);
}
