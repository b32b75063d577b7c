// Matrix-product kernels of the native backend: BatchMatMul (tf.matMul and its gradient, which is matMul with
// transposes) and _FusedMatMul (tf.fused.matMul: product, bias, activation) on OpenBLAS sgemm, or on the addon's bf16
// products when the matmul precision is bf16 (precision.ts; the addon's `sgemm` follows it).
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from './errors.js';
import { f32, type NativeBackend, output } from './native-backend.js';

/** Batch index of each operand for each output batch, broadcasting the leading dimensions numpy-style. */
export function broadcastBatchIndices(
  outerA: number[],
  outerB: number[],
): { shape: number[]; aIdx: Int32Array; bIdx: Int32Array } {
  const shape = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  const batch = shape.reduce((p, d) => p * d, 1);
  const aIdx = new Int32Array(batch);
  const bIdx = new Int32Array(batch);
  const rank = shape.length;
  // Align operand dims to the right of the output's; a size-1 (or missing) dim repeats index 0.
  const pad = (dims: number[]) => [...new Array(rank - dims.length).fill(1), ...dims];
  const da = pad(outerA);
  const db = pad(outerB);
  for (let i = 0; i < batch; i++) {
    let rem = i;
    let ia = 0;
    let ib = 0;
    let strideA = 1;
    let strideB = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const size = shape[d]!;
      const coord = rem % size;
      rem = Math.floor(rem / size);
      if (da[d]! !== 1) ia += coord * strideA;
      if (db[d]! !== 1) ib += coord * strideB;
      strideA *= da[d]!;
      strideB *= db[d]!;
    }
    aIdx[i] = ia;
    bIdx[i] = ib;
  }
  return { shape, aIdx, bIdx };
}

/** Below this many rows per batch entry, a batched product against one shared matrix is one sgemm. */
const FOLD_MAX_ROWS = 32;
const sizeOf = (dims: number[]) => dims.reduce((p, d) => p * d, 1);
const isIota = (idx: Int32Array) => idx.every((v, i) => v === i);

/** op(a) · op(b) for float32 a (..., m, k) and b (..., k, n) (or transposed), through sgemm. */
export function nativeBatchMatMul(
  backend: NativeBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): tf.TensorInfo {
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) {
    throw new ShapeError('matMul: operands must have rank >= 2', 'BatchMatMul', 'rank >= 2', `${ra}, ${rb}`);
  }
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const kA = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kB = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (kA !== kB) {
    throw new ShapeError(
      `matMul: inner dimensions differ: a ${JSON.stringify(a.shape)} (transposeA ${transposeA}) and b ` +
        `${JSON.stringify(b.shape)} (transposeB ${transposeB})`,
      'BatchMatMul',
      `${kA}`,
      `${kB}`,
    );
  }
  const { shape, aIdx, bIdx } = broadcastBatchIndices(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = aIdx.length;
  const out = kA > 0 ? backend.alloc(batch * m * n) : backend.zeros(batch * m * n); // k = 0: a sum of nothing
  if (batch * m * n > 0 && kA > 0) {
    // One matrix b for a batch of untransposed a with few rows each (x · W of a (B, T, d) activation while
    // decoding, T = 1): the batch's rows are one (batch·m, k) matrix in memory, and one sgemm replaces `batch`
    // GEMVs (7-9x faster at 64 × (1, 256) · (256, 704)). With many rows each, OpenBLAS runs the separate
    // products as fast or faster (tools/bench/matmul-fold.bench.ts), so they stay separate.
    const fold =
      m < FOLD_MAX_ROWS && batch > 1 && !transposeA && sizeOf(b.shape.slice(0, -2)) === 1 && isIota(aIdx);
    backend.addon.sgemm(
      f32(backend, a, 'matMul'),
      f32(backend, b, 'matMul'),
      out,
      fold ? 1 : batch,
      fold ? aIdx.subarray(0, 1) : aIdx,
      fold ? bIdx.subarray(0, 1) : bIdx,
      fold ? batch * m : m,
      n,
      kA,
      transposeA,
      transposeB,
    );
  }
  return output(backend, [...shape, m, n], out);
}

const isFloat = (t: tf.TensorInfo) => t.dtype === 'float32';

/** BatchMatMul on sgemm; non-float32 operands go to the `cpu` kernel. */
export function batchMatMulKernel(cpuBatchMatMul: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { a, b } = inputs as unknown as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    if (!isFloat(a) || !isFloat(b)) return cpuBatchMatMul({ inputs, backend, attrs });
    return nativeBatchMatMul(backend as NativeBackend, a, b, transposeA, transposeB);
  };
}

const ACTIVATION_KERNELS: Record<string, string> = {
  relu: tf.Relu,
  relu6: tf.Relu6,
  elu: tf.Elu,
  sigmoid: tf.Sigmoid,
  leakyrelu: tf.LeakyRelu,
  prelu: tf.Prelu,
};

/** _FusedMatMul: sgemm, then the `cpu` backend's Add and activation kernels on the result. */
export function fusedMatMulKernel(backendName: string): tf.KernelFunc {
  const run = (
    name: string,
    inputs: tf.NamedTensorInfoMap,
    backend: NativeBackend,
    attrs: tf.NamedAttrMap = {},
  ) => {
    const kernel = tf.getKernel(name, backendName);
    if (kernel === undefined) throw new Error(`kernel ${name} is not registered for ${backendName}`);
    return kernel.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
  };
  return ({ inputs, backend, attrs }) => {
    const nb = backend as NativeBackend;
    const { a, b, bias, preluActivationWeights } = inputs as unknown as {
      a: tf.TensorInfo;
      b: tf.TensorInfo;
      bias?: tf.TensorInfo;
      preluActivationWeights?: tf.TensorInfo;
    };
    const { transposeA, transposeB, activation, leakyreluAlpha } = attrs as unknown as tf._FusedMatMulAttrs;
    let current = nativeBatchMatMul(nb, a, b, transposeA, transposeB);
    if (bias !== undefined && bias !== null) {
      const next = run(tf.Add, { a: current, b: bias }, nb);
      nb.disposeIntermediateTensorInfo(current);
      current = next;
    }
    if (activation !== undefined && activation !== 'linear') {
      const name = ACTIVATION_KERNELS[activation];
      if (name === undefined) throw new Error(`_FusedMatMul: unknown activation '${activation}'`);
      const next =
        activation === 'prelu'
          ? run(name, { x: current, alpha: preluActivationWeights! }, nb)
          : run(name, { x: current }, nb, activation === 'leakyrelu' ? { alpha: leakyreluAlpha ?? 0.2 } : {});
      nb.disposeIntermediateTensorInfo(current);
      current = next;
    }
    return current;
  };
}
