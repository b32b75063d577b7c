// Kernel replacements for tfjs-backend-wasm 4.22. Its `Slice` copies the whole input out of the wasm heap
// (`readSync`) before taking a piece, so cutting G pieces out of a tensor costs O(G · input); this `Slice` copies
// only the piece, with one `copyWithin` inside the heap, when the piece is contiguous, and defers to the original
// kernel otherwise. Registered by `initBackend('wasm')`.
import * as tf from '@tensorflow/tfjs-core';

interface WasmBackendInternals {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  dataIdMap: { get(dataId: unknown): { memoryOffset: number } };
  wasm: { HEAPU8: Uint8Array };
}

let registered = false;

/** Replaces the wasm `Slice` kernel by one that copies only the slice when it is contiguous (idempotent). */
export function registerWasmKernels(): void {
  if (registered) return;
  const original = tf.getKernel('Slice', 'wasm');
  if (!original) return; // tfjs-backend-wasm not loaded
  registered = true;
  const kernelFunc: tf.KernelFunc = (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [begin_, size_] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size) as [
      number[],
      number[],
    ];
    if (x.dtype === 'string' || !tf.slice_util.isSliceContinous(x.shape, begin_, size_)) {
      return original.kernelFunc(args);
    }
    const backend = args.backend as unknown as WasmBackendInternals;
    const out = backend.makeOutput(size_, x.dtype); // may grow the heap: read offsets and HEAPU8 afterwards
    const bpe = tf.util.bytesPerElement(x.dtype);
    const from =
      backend.dataIdMap.get(x.dataId).memoryOffset +
      tf.slice_util.computeFlatOffset(begin_, tf.util.computeStrides(x.shape)) * bpe;
    const to = backend.dataIdMap.get(out.dataId).memoryOffset;
    backend.wasm.HEAPU8.copyWithin(to, from, from + tf.util.sizeFromShape(size_) * bpe);
    return out;
  };
  // tfjs warns when a kernel is registered twice; unregister first so the replacement is silent.
  tf.unregisterKernel('Slice', 'wasm');
  tf.registerKernel({ kernelName: 'Slice', backendName: 'wasm', kernelFunc });
}
