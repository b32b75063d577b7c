// Elementwise arithmetic and sums of the native backend (native/pointwise.cc): the binary ops with numpy broadcasting
// (one native call when one operand is full-size and the other a scalar or a suffix of the output's shape: bias
// adds, scalings, optimizer arithmetic; otherwise one call per block of the output that has that form, such as
// attention scores (B, H, T, T) plus a mask (B, 1, T, T)), unary maths, row-wise Softmax, Sum over leading or
// trailing axes, and AddN. Anything else (other dtypes, interior reduction axes) runs the `cpu` kernel it replaces.
import * as tf from '@tensorflow/tfjs-core';
import type { NativeBackend } from './native-backend.js';

/** Binary kernels and their op codes in native/kernels.h (BinaryOp). */
export const BINARY_OPS: Readonly<Record<string, number>> = {
  [tf.Add]: 0,
  [tf.Sub]: 1,
  [tf.Multiply]: 2,
  [tf.RealDiv]: 3,
  [tf.Maximum]: 4,
  [tf.Minimum]: 5,
  [tf.SquaredDifference]: 6,
};

/** Unary kernels and their op codes in native/kernels.h (UnaryOp). */
export const UNARY_OPS: Readonly<Record<string, number>> = {
  [tf.Neg]: 0,
  [tf.Square]: 1,
  [tf.Sqrt]: 2,
  [tf.Rsqrt]: 3,
  [tf.Exp]: 4,
  [tf.Abs]: 5,
  [tf.Reciprocal]: 6,
  [tf.Sign]: 7,
};

const sizeOf = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

function float32(backend: NativeBackend, t: tf.TensorInfo): Float32Array | null {
  const v = backend.data.get(t.dataId)?.values;
  return t.dtype === 'float32' && v instanceof Float32Array ? v : null;
}

/**
 * How an operand of `shape` maps onto the output `out`: its element count when it is the full output, a scalar, or
 * repeats along the leading axes (its shape without leading 1s is a suffix of out's); null otherwise.
 */
function operandLength(shape: readonly number[], out: readonly number[]): number | null {
  const n = sizeOf(shape);
  if (n === sizeOf(out) || n === 1) return n;
  let start = 0;
  while (start < shape.length && shape[start] === 1) start++;
  const core = shape.slice(start);
  if (core.length > out.length) return null;
  const tail = out.slice(out.length - core.length);
  return tf.util.arraysEqual(core, tail) ? n : null;
}

/** Blocks of fewer elements than this are not worth a native call each: the `cpu` kernel runs instead. */
const MIN_BLOCK = 64;

/**
 * A two-sided broadcast as `outer` native calls: the output splits at axis k into outer indices (axes < k, where
 * each operand is full or broadcast) and blocks (axes ≥ k) in which each operand has the one-call form. Returns
 * the smallest such k with each operand's strides over the outer axes, or null.
 */
function blocked(aShape: readonly number[], bShape: readonly number[], out: readonly number[]) {
  const R = out.length;
  const pad = (sh: readonly number[]) => [...new Array<number>(R - sh.length).fill(1), ...sh];
  const a = pad(aShape);
  const b = pad(bShape);
  for (let k = 1; k < R; k++) {
    const block = out.slice(k);
    const size = sizeOf(block);
    const na = operandLength(a.slice(k), block);
    const nb = operandLength(b.slice(k), block);
    if (na === null || nb === null || (na !== size && nb !== size)) continue;
    if (size < MIN_BLOCK) return null;
    const strides = (sh: number[], n: number) => {
      const st = new Array<number>(k).fill(0);
      for (let i = k - 1, acc = n; i >= 0; acc *= sh[i]!, i--) st[i] = sh[i] === 1 ? 0 : acc;
      return st;
    };
    return { k, size, na, nb, aStrides: strides(a, na), bStrides: strides(b, nb) };
  }
  return null;
}

export function binaryKernel(kernelName: string, cpuKernel: tf.KernelFunc): tf.KernelFunc {
  const op = BINARY_OPS[kernelName]!;
  return ({ inputs, backend, attrs }) => {
    const nb = backend as NativeBackend;
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const va = float32(nb, a);
    const vb = float32(nb, b);
    if (va === null || vb === null) return cpuKernel({ inputs, backend, attrs });
    const shape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const n = sizeOf(shape);
    if (n === 0) return cpuKernel({ inputs, backend, attrs });
    const na = operandLength(a.shape, shape);
    const nbLen = operandLength(b.shape, shape);
    if (na !== null && nbLen !== null && (na === n || nbLen === n)) {
      const y = nb.alloc(n);
      nb.addon.binary(op, va, na, vb, nbLen, y, n);
      return nb.makeTensorInfo(shape, 'float32', y);
    }
    const plan = blocked(a.shape, b.shape, shape);
    if (plan === null) return cpuKernel({ inputs, backend, attrs });
    const { k, size, aStrides, bStrides } = plan;
    const y = nb.alloc(n);
    const idx = new Array<number>(k).fill(0);
    for (let o = 0; o < n / size; o++) {
      let ao = 0;
      let bo = 0;
      for (let i = 0; i < k; i++) {
        ao += idx[i]! * aStrides[i]!;
        bo += idx[i]! * bStrides[i]!;
      }
      nb.addon.binary(
        op,
        va.subarray(ao, ao + plan.na),
        plan.na,
        vb.subarray(bo, bo + plan.nb),
        plan.nb,
        y.subarray(o * size, (o + 1) * size),
        size,
      );
      for (let i = k - 1; i >= 0 && ++idx[i]! === shape[i]!; i--) idx[i] = 0; // odometer over the outer axes
    }
    return nb.makeTensorInfo(shape, 'float32', y);
  };
}

/** Softmax over the last axis of a float32 tensor (the only axis tfjs's softmax op takes). */
export function softmaxKernel(cpuSoftmax: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const nb = backend as NativeBackend;
    const { logits } = inputs as { logits: tf.TensorInfo };
    const { dim } = attrs as unknown as tf.SoftmaxAttrs;
    const vx = float32(nb, logits);
    const rank = logits.shape.length;
    if (vx === null || rank === 0 || (dim !== -1 && dim !== rank - 1) || vx.length === 0) {
      return cpuSoftmax({ inputs, backend, attrs });
    }
    const cols = logits.shape[rank - 1]!;
    const y = nb.alloc(vx.length);
    nb.addon.softmaxRows(vx, y, vx.length / cols, cols);
    return nb.makeTensorInfo(logits.shape, 'float32', y);
  };
}

export function unaryKernel(kernelName: string, cpuKernel: tf.KernelFunc): tf.KernelFunc {
  const op = UNARY_OPS[kernelName]!;
  return ({ inputs, backend, attrs }) => {
    const nb = backend as NativeBackend;
    const { x } = inputs as { x: tf.TensorInfo };
    const vx = float32(nb, x);
    if (vx === null) return cpuKernel({ inputs, backend, attrs });
    const y = nb.alloc(vx.length);
    nb.addon.unary(op, vx, y, vx.length);
    return nb.makeTensorInfo(x.shape, 'float32', y);
  };
}

/** Sum over the leading or the trailing axes of a float32 tensor (keepDims honoured); others on the cpu kernel. */
export function sumKernel(cpuSum: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const nb = backend as NativeBackend;
    const { x } = inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
    const vx = float32(nb, x);
    const rank = x.shape.length;
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((p, q) => p - q);
    const k = axes.length;
    const trailing = axes.every((ax, i) => ax === rank - k + i);
    const leading = axes.every((ax, i) => ax === i);
    if (vx === null || k === 0 || !(trailing || leading) || vx.length === 0) {
      return cpuSum({ inputs, backend, attrs });
    }
    const outShape = keepDims
      ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !axes.includes(i));
    const reduced = sizeOf(axes.map((ax) => x.shape[ax]!));
    const kept = vx.length / reduced;
    const y = nb.alloc(kept);
    if (trailing) nb.addon.sumRows(vx, kept, reduced, y);
    else nb.addon.sumCols(vx, reduced, kept, y);
    return nb.makeTensorInfo(outShape, 'float32', y);
  };
}

/** AddN of float32 tensors of one shape: pairwise native adds into one output buffer. */
export function addNKernel(cpuAddN: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const nb = backend as NativeBackend;
    const ts = inputs as unknown as tf.TensorInfo[];
    const vs = ts.map((t) => float32(nb, t));
    const first = ts[0];
    if (
      first === undefined ||
      ts.length < 2 ||
      vs.some((v) => v === null) ||
      ts.some((t) => !tf.util.arraysEqual(t.shape, first.shape))
    ) {
      return cpuAddN({ inputs, backend, attrs });
    }
    const n = vs[0]!.length;
    const y = nb.alloc(n);
    nb.addon.binary(0, vs[0]!, n, vs[1]!, n, y, n);
    for (let i = 2; i < vs.length; i++) nb.addon.binary(0, y, n, vs[i]!, n, y, n);
    return nb.makeTensorInfo(first.shape, 'float32', y);
  };
}
