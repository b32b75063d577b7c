// Data-movement and elementwise kernels of the native backend: Add of same-shape float32 tensors (residuals and
// gradient accumulation), Transpose (native, rows copied whole when the last axis stays) and
// GatherV2 on axis 0 (embedding lookups: one row copy per index). Other cases go to the `cpu` kernels.
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
    const out = new Float32Array(n);
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
    const out = new Float32Array(idx.length * d);
    for (let i = 0; i < idx.length; i++) {
      const r = idx[i]!;
      out.set(table.subarray(r * d, r * d + d), i * d);
    }
    return output(nb, [...indices.shape, ...x.shape.slice(1)], out);
  };
}

/** Add: native when both operands are float32 of one shape; broadcasting and other dtypes go to the cpu kernel. */
export function addKernel(cpuAdd: tf.KernelFunc): tf.KernelFunc {
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
      return cpuAdd({ inputs, backend, attrs });
    }
    const out = new Float32Array(va.length);
    nb.addon.add(va, vb, out, va.length);
    return output(nb, a.shape, out);
  };
}
