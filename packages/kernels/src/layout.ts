// Data-movement and elementwise kernels of the native backend: Add of same-shape float32 tensors (residuals and
// gradient accumulation), Transpose (native, rows copied whole when the last axis stays),
// GatherV2 on axis 0 (embedding lookups: one row copy per index) and its gradient ScatterNd by rows, Concat, and
// strided Slice and PadV2 (copies of whole
// contiguous runs; the `cpu` kernels move one element at a time through index arithmetic, ~100x slower).
// Other cases go to the `cpu` kernels.
import * as tf from '@tensorflow/tfjs-core';
import { type NativeBackend, output } from './native-backend.js';

/** A Float32Array view of a float32 or int32 buffer (the transpose moves 4-byte words). */
function words(values: unknown): Float32Array | null {
  if (values instanceof Float32Array) return values;
  if (values instanceof Int32Array) return new Float32Array(values.buffer, values.byteOffset, values.length);
  return null;
}

export function transposeKernel(cpuTranspose: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const nb = backend as NativeBackend;
    const { x } = inputs as { x: tf.TensorInfo };
    const perm = (attrs as unknown as tf.TransposeAttrs).perm;
    const src = words(nb.data.get(x.dataId)?.values);
    if (src === null || perm.length !== x.shape.length) return cpuTranspose({ inputs, backend, attrs });
    const outShape = perm.map((p) => x.shape[p]!);
    const n = src.length;
    if (x.dtype === 'int32') {
      const out = new Int32Array(n);
      nb.addon.transpose(src, new Float32Array(out.buffer), Int32Array.from(x.shape), Int32Array.from(perm));
      return nb.makeTensorInfo(outShape, 'int32', out);
    }
    const out = nb.alloc(n);
    nb.addon.transpose(src, out, Int32Array.from(x.shape), Int32Array.from(perm));
    return output(nb, outShape, out);
  };
}

export function gatherKernel(cpuGather: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const nb = backend as NativeBackend;
    const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = attrs as unknown as tf.GatherV2Attrs;
    const table = nb.data.get(x.dataId)?.values;
    const idx = nb.data.get(indices.dataId)?.values;
    const rows = x.shape[0] ?? 0;
    const ok =
      (axis === 0 || axis === -x.shape.length) &&
      (batchDims ?? 0) === 0 &&
      table instanceof Float32Array &&
      (idx instanceof Int32Array || idx instanceof Float32Array) &&
      idx.every((i) => i >= 0 && i < rows && Number.isInteger(i));
    if (!ok) return cpuGather({ inputs, backend, attrs }); // other axes, and the cpu kernel's index errors
    const d = rows === 0 ? 0 : table.length / rows; // row length
    const out = nb.alloc(idx.length * d);
    for (let i = 0; i < idx.length; i++) {
      const r = idx[i]!;
      out.set(table.subarray(r * d, r * d + d), i * d);
    }
    return output(nb, [...indices.shape, ...x.shape.slice(1)], out);
  };
}

/**
 * ScatterNd of float32 rows (the gradient of a row gather: embedding lookups): indices (N, 1) into a (V, ...rest)
 * output, duplicates summed in index order. Other index depths, dtypes and out-of-range indices: the `cpu` kernel.
 */
export function scatterRowsKernel(cpuScatter: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const nb = backend as NativeBackend;
    const { indices, updates } = inputs as { indices: tf.TensorInfo; updates: tf.TensorInfo };
    const { shape } = attrs as unknown as tf.ScatterNdAttrs;
    const idx = nb.data.get(indices.dataId)?.values;
    const upd = nb.data.get(updates.dataId)?.values;
    const rows = shape[0] ?? 0;
    const n = indices.shape[0] ?? 0;
    const d = sizeOf(shape.slice(1));
    const ok =
      indices.shape.length === 2 &&
      indices.shape[1] === 1 &&
      idx instanceof Int32Array &&
      upd instanceof Float32Array &&
      upd.length === n * d &&
      idx.every((i) => i >= 0 && i < rows);
    if (!ok) return cpuScatter({ inputs, backend, attrs });
    const out = nb.zeros(rows * d);
    for (let i = 0; i < n; i++) {
      const o = idx[i]! * d;
      const u = i * d;
      for (let j = 0; j < d; j++) out[o + j]! += upd[u + j]!;
    }
    return output(nb, [...shape], out);
  };
}

/** Add: native when both operands are float32 of one shape; the rest goes to `fallback` (broadcasting binary kernel). */
export function addKernel(fallback: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const nb = backend as NativeBackend;
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const va = nb.data.get(a.dataId)?.values;
    const vb = nb.data.get(b.dataId)?.values;
    if (
      !(va instanceof Float32Array) ||
      !(vb instanceof Float32Array) ||
      !tf.util.arraysEqual(a.shape, b.shape)
    ) {
      return fallback({ inputs, backend, attrs });
    }
    const out = nb.alloc(va.length);
    nb.addon.add(va, vb, out, va.length);
    return output(nb, a.shape, out);
  };
}

type Values = Float32Array | Int32Array | Uint8Array;

/**
 * Copies the box of extent `size` at `srcBegin` in src (shape srcShape) to `dstBegin` in dst (shape dstShape), one
 * TypedArray.set (a memcpy) per contiguous run: the run spans the innermost axes that are whole in both arrays
 * plus the first axis that is not.
 */
export function copyBox(
  src: Values,
  srcShape: readonly number[],
  srcBegin: readonly number[],
  dst: Values,
  dstShape: readonly number[],
  dstBegin: readonly number[],
  size: readonly number[],
): void {
  const rank = size.length;
  if (size.some((d) => d === 0)) return;
  if (rank === 0) {
    dst[0] = src[0]!;
    return;
  }
  let k = rank - 1; // axes after k are whole in src, dst and the box
  while (k > 0 && size[k] === srcShape[k] && size[k] === dstShape[k]) k--;
  const strides = (shape: readonly number[]) => {
    const st = new Array<number>(rank).fill(1);
    for (let j = rank - 2; j >= 0; j--) st[j] = st[j + 1]! * shape[j + 1]!;
    return st;
  };
  const ss = strides(srcShape);
  const ds = strides(dstShape);
  const run = size[k]! * ss[k]!; // == size[k] · Π_{j>k} size[j]
  let outer = 1;
  for (let j = 0; j < k; j++) outer *= size[j]!;
  const idx = new Array<number>(k).fill(0);
  for (let o = 0; o < outer; o++) {
    let so = srcBegin[k]! * ss[k]!;
    let dO = dstBegin[k]! * ds[k]!;
    for (let j = 0; j < k; j++) {
      so += (srcBegin[j]! + idx[j]!) * ss[j]!;
      dO += (dstBegin[j]! + idx[j]!) * ds[j]!;
    }
    dst.set(src.subarray(so, so + run), dO);
    for (let j = k - 1; j >= 0; j--) {
      if (++idx[j]! < size[j]!) break;
      idx[j] = 0;
    }
  }
}

function plainValues(values: unknown): Float32Array | Int32Array | null {
  return values instanceof Float32Array || values instanceof Int32Array ? values : null;
}

/** Slice of a float32 or int32 tensor: contiguous slices as the cpu kernel (a view), strided ones by runs. */
export function sliceKernel(cpuSlice: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const nb = backend as NativeBackend;
    const { x } = inputs as { x: tf.TensorInfo };
    const { begin, size } = attrs as unknown as tf.SliceAttrs;
    const src = plainValues(nb.data.get(x.dataId)?.values);
    if (src === null) return cpuSlice({ inputs, backend, attrs });
    const [b, sz] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size) as [number[], number[]];
    tf.slice_util.assertParamsValid(x as tf.Tensor, b, sz);
    if (tf.slice_util.isSliceContinous(x.shape, b, sz)) return cpuSlice({ inputs, backend, attrs });
    const out = src instanceof Float32Array ? nb.alloc(sizeOf(sz)) : new Int32Array(sizeOf(sz));
    copyBox(src, x.shape, b, out, sz, new Array<number>(sz.length).fill(0), sz);
    return nb.makeTensorInfo(sz, x.dtype, out);
  };
}

/** PadV2 (constant padding, the gradient of Slice) of a float32 or int32 tensor: fill, then copy by runs. */
export function padKernel(cpuPad: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const nb = backend as NativeBackend;
    const { x } = inputs as { x: tf.TensorInfo };
    const { paddings, constantValue } = attrs as unknown as tf.PadV2Attrs;
    const src = plainValues(nb.data.get(x.dataId)?.values);
    if (src === null || paddings.length !== x.shape.length) return cpuPad({ inputs, backend, attrs });
    const outShape = x.shape.map((d, i) => paddings[i]![0] + d + paddings[i]![1]);
    const n = sizeOf(outShape);
    const floats = () => (constantValue === 0 ? nb.zeros(n) : nb.alloc(n));
    const out = src instanceof Float32Array ? floats() : new Int32Array(n);
    if (constantValue !== 0) out.fill(constantValue);
    copyBox(
      src,
      x.shape,
      new Array<number>(x.shape.length).fill(0),
      out,
      outShape,
      paddings.map((p) => p[0]),
      x.shape,
    );
    return nb.makeTensorInfo(outShape, x.dtype, out);
  };
}

const sizeOf = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** Concat of float32 or int32 tensors along any axis: each input is one box copied by contiguous runs. */
export function concatKernel(cpuConcat: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const nb = backend as NativeBackend;
    const ts = inputs as unknown as tf.TensorInfo[];
    const first = ts[0];
    const srcs = ts.map((t) => plainValues(nb.data.get(t.dataId)?.values));
    if (first === undefined || srcs.some((v) => v === null) || ts.some((t) => t.dtype !== first.dtype)) {
      return cpuConcat({ inputs, backend, attrs });
    }
    const axis = tf.util.parseAxisParam((attrs as unknown as tf.ConcatAttrs).axis, first.shape)[0]!;
    const outShape = tf.backend_util.computeOutShape(
      ts.map((t) => t.shape),
      axis,
    );
    const out = first.dtype === 'float32' ? nb.alloc(sizeOf(outShape)) : new Int32Array(sizeOf(outShape));
    const at = new Array<number>(outShape.length).fill(0);
    const zeros = at.slice();
    for (const [i, t] of ts.entries()) {
      if (sizeOf(t.shape) > 0) copyBox(srcs[i]!, t.shape, zeros, out, outShape, at, t.shape);
      at[axis]! += t.shape[axis]!;
    }
    return nb.makeTensorInfo(outShape, first.dtype, out);
  };
}
