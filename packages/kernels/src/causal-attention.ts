// Causal scaled-dot-product attention (Vaswani et al. 2017) with grouped-query heads (Ainslie et al. 2023):
// o = softmax(q·kᵀ·scale + causal mask)·v. The native kernel never forms the (T, T) matrix (see native/attention.cc).
// An optional key padding mask (B, T) (1 real, 0 padding; right or left padding) excludes padding keys; a query row
// that sees no real key (a padding query before the first real token) gives o = 0 with zero gradients.
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

export const CAUSAL_ATTENTION = 'LoralabCausalAttention';
export const CAUSAL_ATTENTION_GRAD = 'LoralabCausalAttentionGrad';

type Dims = { B: number; nh: number; nkv: number; T: number; hs: number };

function check(q: tf.TensorInfo, k: tf.TensorInfo, v: tf.TensorInfo, layout: HeadLayout): Dims {
  const [B, nh, T, hs] = headDims(q.shape, layout);
  const [Bk, nkv, Tk, hk] = headDims(k.shape, layout);
  const ok =
    q.shape.length === 4 &&
    tf.util.arraysEqual(k.shape, v.shape) &&
    k.shape.length === 4 &&
    Bk === B &&
    nkv > 0 &&
    nh % nkv === 0 &&
    Tk === T &&
    hk === hs;
  if (!ok) {
    throw new ShapeError(
      `causalAttention: expected q (B, nh, T, hs) and k, v (B, nkv, T, hs) ('${layout}' order) with nh a multiple of nkv; found q ` +
        `${JSON.stringify(q.shape)}, k ${JSON.stringify(k.shape)}, v ${JSON.stringify(v.shape)}`,
      'causalAttention',
      '(B, nh, T, hs), (B, nkv, T, hs)',
      `${JSON.stringify(q.shape)}, ${JSON.stringify(k.shape)}`,
    );
  }
  return { B, nh, nkv, T, hs };
}

function checkKeyMask(keyMask: tf.TensorInfo, B: number, T: number): void {
  if (keyMask.shape.length !== 2 || keyMask.shape[0] !== B || keyMask.shape[1] !== T) {
    throw new ShapeError(
      `causalAttention: keyMask must be (B, T) = (${B}, ${T}), found ${JSON.stringify(keyMask.shape)}`,
      'causalAttention',
      `(${B}, ${T})`,
      JSON.stringify(keyMask.shape),
    );
  }
}

/** Reference from tfjs ops: k, v repeated over the query groups, masked softmax, two products. */
export function causalAttentionReference(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  scale?: number,
  layout: HeadLayout = 'bhtd',
  keyMask: tf.Tensor | null = null,
): tf.Tensor {
  checkLayout(layout, 'causalAttention');
  if (layout === 'bthd') {
    return tf.tidy(() => {
      const t = (x: tf.Tensor) => tf.transpose(x, [0, 2, 1, 3]);
      return t(causalAttentionReference(t(q), t(k), t(v), scale, 'bhtd', keyMask));
    });
  }
  return tf.tidy(() => {
    const { nh, nkv, T, hs } = check(q, k, v, layout);
    const rep = nh / nkv;
    // (B, nkv, T, hs) → (B, nh, T, hs): head h reads kv head ⌊h / rep⌋
    const heads = tf.tensor1d(
      Array.from({ length: nh }, (_, h) => Math.floor(h / rep)),
      'int32',
    );
    const expand = (t: tf.Tensor) => (rep === 1 ? t : tf.gather(t, heads, 1));
    const scores = tf.mul(tf.matMul(q, expand(k), false, true), scale ?? 1 / Math.sqrt(hs)); // (B, nh, T, T)
    const causal = tf.linalg.bandPart(tf.ones([T, T]), -1, 0); // 1 on and below the diagonal
    if (keyMask === null) {
      const masked = tf.where(tf.cast(causal, 'bool'), scores, tf.fill([T, T], Number.NEGATIVE_INFINITY));
      return tf.matMul(tf.softmax(masked), expand(v)); // (B, nh, T, hs)
    }
    checkKeyMask(keyMask, q.shape[0]!, T);
    // allowed (B, 1, T, T) = causal · real key; a finite fill keeps fully masked rows NaN-free, and their
    // probabilities are then zeroed (rowAny = 0), which also zeroes their gradients.
    const allowed = tf.mul(causal, tf.reshape(tf.cast(tf.notEqual(keyMask, 0), 'float32'), [-1, 1, 1, T]));
    const masked = tf.where(tf.cast(allowed, 'bool'), scores, tf.fill(scores.shape, -1e30));
    const rowAny = tf.max(allowed, -1, true); // (B, 1, T, 1)
    return tf.matMul(tf.mul(tf.softmax(masked), rowAny), expand(v)); // (B, nh, T, hs)
  });
}

/**
 * Causal attention of q (B, nh, T, hs) over k, v (B, nkv, T, hs), or q (B, T, nh, hs) and k, v (B, T, nkv, hs) with
 * layout 'bthd' (the output then is (B, T, nh, hs) too); scale defaults to 1/sqrt(hs). `keyMask` (B, T), 1 for a
 * real token and 0 for padding (any position: right or left padding), excludes padding keys; a query row that sees
 * no real key gives zeros and passes no gradient. The mask gets no gradient.
 */
export function causalAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  scale?: number,
  layout: HeadLayout = 'bhtd',
  keyMask: tf.Tensor | null = null,
): tf.Tensor {
  checkLayout(layout, 'causalAttention');
  if (!hasNativeKernel(CAUSAL_ATTENTION)) return causalAttentionReference(q, k, v, scale, layout, keyMask);
  const { B, T, hs } = check(q, k, v, layout);
  const s = scale ?? 1 / Math.sqrt(hs);
  const seqMajor = layout === 'bthd';
  if (keyMask !== null) {
    checkKeyMask(keyMask, B, T);
    // The kernel reads a Float32Array; tfjs's cpu Cast can keep an int32 buffer, so other dtypes are copied (B·T).
    const m =
      keyMask.dtype === 'float32'
        ? keyMask
        : tf.tensor2d(Float32Array.from(keyMask.dataSync()), [B, T], 'float32');
    const f = customOp<[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]>(([qs, ks, vs, ms], save) => {
      const [o, lse] = runKernel(
        CAUSAL_ATTENTION,
        { q: qs, k: ks, v: vs, keyMask: ms },
        { scale: s, seqMajor },
      ) as [tf.Tensor, tf.Tensor];
      save([qs, ks, vs, o, lse, ms]);
      return {
        value: o,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sq, sk, sv, so, slse, sm] = saved as [
            tf.Tensor,
            tf.Tensor,
            tf.Tensor,
            tf.Tensor,
            tf.Tensor,
            tf.Tensor,
          ];
          return [
            ...runKernel(
              CAUSAL_ATTENTION_GRAD,
              { q: sq, k: sk, v: sv, o: so, lse: slse, dy, keyMask: sm },
              { scale: s, seqMajor },
            ),
            tf.zerosLike(sm),
          ];
        },
      };
    });
    const out = f(q, k, v, m);
    if (m !== keyMask) m.dispose();
    return out;
  }
  const f = customOp<[tf.Tensor, tf.Tensor, tf.Tensor]>(([qs, ks, vs], save) => {
    const [o, lse] = runKernel(CAUSAL_ATTENTION, { q: qs, k: ks, v: vs }, { scale: s, seqMajor }) as [
      tf.Tensor,
      tf.Tensor,
    ];
    save([qs, ks, vs, o, lse]);
    return {
      value: o,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, so, slse] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        return runKernel(
          CAUSAL_ATTENTION_GRAD,
          { q: sq, k: sk, v: sv, o: so, lse: slse, dy },
          { scale: s, seqMajor },
        );
      },
    };
  });
  return f(q, k, v);
}

export const causalAttentionKernels: tf.KernelConfig[] = [
  {
    kernelName: CAUSAL_ATTENTION,
    backendName: '',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const nb = backend as NativeBackend;
      const { q, k, v, keyMask } = inputs as Record<'q' | 'k' | 'v', tf.TensorInfo> & {
        keyMask?: tf.TensorInfo;
      };
      const seqMajor = attrs!.seqMajor === true;
      const { B, nh, nkv, T, hs } = check(q, k, v, seqMajor ? 'bthd' : 'bhtd');
      if (keyMask !== undefined) checkKeyMask(keyMask, B, T);
      const o = nb.alloc(sizeOf(q.shape));
      const lse = nb.alloc(B * nh * T); // log Σ_j exp(s_ij) per query row
      const op = 'causalAttention';
      nb.addon.attentionForward(
        f32(nb, q, op),
        f32(nb, k, op),
        f32(nb, v, op),
        o,
        lse,
        B,
        nh,
        nkv,
        T,
        hs,
        attrs!.scale as number,
        seqMajor,
        keyMask === undefined ? null : f32(nb, keyMask, op),
      );
      return [output(nb, q.shape, o), output(nb, [B, nh, T], lse)];
    },
  },
  {
    kernelName: CAUSAL_ATTENTION_GRAD,
    backendName: '',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const nb = backend as NativeBackend;
      const { q, k, v, o, lse, dy, keyMask } = inputs as Record<
        'q' | 'k' | 'v' | 'o' | 'lse' | 'dy',
        tf.TensorInfo
      > & {
        keyMask?: tf.TensorInfo;
      };
      const seqMajor = attrs!.seqMajor === true;
      const { B, nh, nkv, T, hs } = check(q, k, v, seqMajor ? 'bthd' : 'bhtd');
      if (keyMask !== undefined) checkKeyMask(keyMask, B, T);
      const dq = nb.alloc(sizeOf(q.shape));
      const dk = nb.alloc(sizeOf(k.shape));
      const dv = nb.alloc(sizeOf(v.shape));
      const op = 'causalAttention';
      nb.addon.attentionBackward(
        f32(nb, q, op),
        f32(nb, k, op),
        f32(nb, v, op),
        f32(nb, o, op),
        f32(nb, lse, op),
        f32(nb, dy, op),
        dq,
        dk,
        dv,
        B,
        nh,
        nkv,
        T,
        hs,
        attrs!.scale as number,
        seqMajor,
        keyMask === undefined ? null : f32(nb, keyMask, op),
      );
      return [output(nb, q.shape, dq), output(nb, k.shape, dk), output(nb, v.shape, dv)];
    },
  },
];
