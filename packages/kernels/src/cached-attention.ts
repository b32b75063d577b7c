// Attention over a preallocated KV cache (incremental decoding): the cache is (B, C, nkv, hs) of capacity C, the
// new keys and values are written into it in place at their positions, and the Tq new queries attend to its first
// Tk positions, read where they lie (native/attention.cc `attention_cached`). A cache grown by concatenation copies
// every cached key and value at every step (and the tfjs path transposes the keys once more); this reads each once.
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from './errors.js';
import { hasNativeKernel, runKernel, sizeOf } from './fused-op.js';
import { f32, type NativeBackend, output } from './native-backend.js';

export const CACHED_ATTENTION = 'LoralabCachedAttention';

type Dims = { B: number; Tq: number; nh: number; nkv: number; C: number; hs: number };

function check(q: tf.TensorInfo, k: tf.TensorInfo, v: tf.TensorInfo, length: number): Dims {
  const [B, Tq, nh, hs] = q.shape as number[];
  const [Bk, C, nkv, hk] = k.shape as number[];
  const ok =
    q.shape.length === 4 &&
    k.shape.length === 4 &&
    tf.util.arraysEqual(k.shape, v.shape) &&
    Bk === B &&
    hk === hs &&
    nkv! > 0 &&
    nh! % nkv! === 0 &&
    Number.isInteger(length) &&
    Tq! >= 1 &&
    Tq! <= length &&
    length <= C!;
  if (!ok) {
    throw new ShapeError(
      `cachedAttention: expected q (B, Tq, nh, hs), k and v caches (B, C, nkv, hs) with nh a multiple of nkv and 1 <= Tq <= length <= C; found q ${JSON.stringify(q.shape)}, k ${JSON.stringify(k.shape)}, v ${JSON.stringify(v.shape)}, length ${length}`,
      'cachedAttention',
      '(B, Tq, nh, hs), (B, C, nkv, hs)',
      `${JSON.stringify(q.shape)}, ${JSON.stringify(k.shape)}`,
    );
  }
  return { B: B!, Tq: Tq!, nh: nh!, nkv: nkv!, C: C!, hs: hs! };
}

function checkKeyMask(keyMask: tf.TensorInfo, B: number, length: number): void {
  if (keyMask.shape.length !== 2 || keyMask.shape[0] !== B || keyMask.shape[1] !== length) {
    throw new ShapeError(
      `cachedAttention: keyMask must be (B, length) = (${B}, ${length}), found ${JSON.stringify(keyMask.shape)}`,
      'cachedAttention',
      `(${B}, ${length})`,
      JSON.stringify(keyMask.shape),
    );
  }
}

/** Reference from tfjs ops: the cache's first `length` positions, repeated over the query groups, masked softmax. */
export function cachedAttentionReference(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  length: number,
  scale?: number,
  keyMask: tf.Tensor | null = null,
): tf.Tensor {
  const { B, Tq, nh, nkv, hs } = check(q, k, v, length);
  if (keyMask !== null) checkKeyMask(keyMask, B, length);
  return tf.tidy(() => {
    const rep = nh / nkv;
    const heads = tf.tensor1d(
      Array.from({ length: nh }, (_, h) => Math.floor(h / rep)),
      'int32',
    );
    // (B, C, nkv, hs) → (B, nh, length, hs)
    const keys = (t: tf.Tensor) =>
      tf.gather(tf.transpose(tf.slice(t, [0, 0, 0, 0], [B, length, nkv, hs]), [0, 2, 1, 3]), heads, 1);
    const qh = tf.transpose(q, [0, 2, 1, 3]); // (B, nh, Tq, hs)
    const scores = tf.mul(tf.matMul(qh, keys(k), false, true), scale ?? 1 / Math.sqrt(hs)); // (B, nh, Tq, length)
    // query i sees keys 0..length − Tq + i
    const visible = tf.linalg.bandPart(tf.ones([Tq, length]), -1, length - Tq);
    const allowed =
      keyMask === null
        ? tf.reshape(visible, [1, 1, Tq, length])
        : tf.mul(visible, tf.reshape(tf.cast(tf.notEqual(keyMask, 0), 'float32'), [B, 1, 1, length]));
    const masked = tf.where(
      tf.cast(tf.broadcastTo(allowed, scores.shape), 'bool'),
      scores,
      tf.fill(scores.shape, -1e30),
    );
    const probs = tf.mul(tf.softmax(masked), tf.max(allowed, -1, true)); // a row with no real key: zeros
    return tf.transpose(tf.matMul(probs, keys(v)), [0, 2, 1, 3]); // (B, Tq, nh, hs)
  });
}

/**
 * Attention of q (B, Tq, nh, hs) over the first `length` positions of k, v caches (B, C, nkv, hs), the last Tq of
 * them the queries' own: query i sees keys 0..length − Tq + i. `keyMask` (B, length), 0 for a padding key, excludes
 * keys; a query row with no real key gives zeros. Scale defaults to 1/sqrt(hs). Forward only (no gradient): it is for
 * generation. Returns (B, Tq, nh, hs).
 */
export function cachedAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  length: number,
  scale?: number,
  keyMask: tf.Tensor | null = null,
): tf.Tensor {
  if (!hasNativeKernel(CACHED_ATTENTION)) return cachedAttentionReference(q, k, v, length, scale, keyMask);
  const { B, hs } = check(q, k, v, length);
  if (keyMask !== null) checkKeyMask(keyMask, B, length);
  const s = scale ?? 1 / Math.sqrt(hs);
  return tf.tidy(() => {
    const m = keyMask === null || keyMask.dtype === 'float32' ? keyMask : tf.cast(keyMask, 'float32');
    const inputs: Record<string, tf.Tensor> = { q, k, v, ...(m ? { keyMask: m } : {}) };
    return runKernel(CACHED_ATTENTION, inputs, { scale: s, length })[0]!;
  });
}

/** Whether the active backend runs `cachedAttention` natively (the native backend with an addon that has it). */
export function hasCachedAttentionKernel(): boolean {
  return hasNativeKernel(CACHED_ATTENTION);
}

/**
 * Writes x (B, T, ...rest) into `target` (B, C, ...rest) at positions offset..offset+T−1 of axis 1, in place. Only
 * for a tensor its caller owns alone (a KV cache), never one another tensor shares (a reshape of it).
 */
export function writeInPlace(target: tf.Tensor, x: tf.Tensor, offset: number): void {
  const [B, C] = target.shape as number[];
  const [Bx, T] = x.shape as number[];
  const row = sizeOf(target.shape.slice(2));
  if (
    Bx !== B ||
    !tf.util.arraysEqual(target.shape.slice(2), x.shape.slice(2)) ||
    offset < 0 ||
    offset + T! > C! ||
    target.dtype !== 'float32'
  ) {
    throw new ShapeError(
      `writeInPlace: x ${JSON.stringify(x.shape)} does not fit target ${JSON.stringify(target.shape)} at ${offset}`,
      'writeInPlace',
      JSON.stringify(target.shape),
      JSON.stringify(x.shape),
    );
  }
  const dst = (tf.backend() as NativeBackend).data.get(target.dataId)?.values;
  if (!(dst instanceof Float32Array))
    throw new Error('writeInPlace: the target has no float32 buffer on this backend');
  const src = x.dataSync() as Float32Array;
  for (let b = 0; b < B!; b++) {
    dst.set(src.subarray(b * T! * row, (b + 1) * T! * row), (b * C! + offset) * row);
  }
}

export const cachedAttentionKernels: tf.KernelConfig[] = [
  {
    kernelName: CACHED_ATTENTION,
    backendName: '',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const nb = backend as NativeBackend;
      const { q, k, v, keyMask } = inputs as Record<'q' | 'k' | 'v', tf.TensorInfo> & {
        keyMask?: tf.TensorInfo;
      };
      const length = attrs!.length as number;
      const { B, Tq, nh, nkv, C, hs } = check(q, k, v, length);
      if (keyMask !== undefined) checkKeyMask(keyMask, B, length);
      const o = nb.alloc(sizeOf(q.shape));
      const op = 'cachedAttention';
      nb.addon.attentionCached!(
        f32(nb, q, op),
        f32(nb, k, op),
        f32(nb, v, op),
        o,
        B,
        nh,
        nkv,
        Tq,
        length,
        C,
        hs,
        attrs!.scale as number,
        keyMask === undefined ? null : f32(nb, keyMask, op),
      );
      return output(nb, q.shape, o);
    },
  },
];
