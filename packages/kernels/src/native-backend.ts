// The 'loralab-native' TensorFlow.js backend: the tfjs `cpu` backend (tensors are plain TypedArrays in its data
// storage) with native kernels registered over the hot ones. A separate backend rather than overriding `cpu`'s
// kernels: `cpu` stays untouched as the reference in the same process, and a model picks native by name.
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { ShapeError } from './errors.js';

/** `cpu` backend plus the addon; kernels reach the addon through the backend they are called with. */
export class NativeBackend extends MathBackendCPU {
  constructor(readonly addon: NativeAddon) {
    super();
    // The cpu backend's first write prints an advert for tfjs-node; this backend is the native path.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }
}

/** Whether the active tfjs backend is a native backend (any name it was registered under). */
export function nativeBackendActive(): boolean {
  return tf.findBackend(tf.getBackend()) instanceof NativeBackend;
}

/** The Float32Array behind a tensor of the native backend, without a copy. */
export function f32(backend: NativeBackend, t: tf.TensorInfo, op: string): Float32Array {
  const values = backend.data.get(t.dataId)?.values;
  if (!(values instanceof Float32Array)) {
    throw new ShapeError(`${op}: expected a float32 tensor, found ${t.dtype}`, op, 'float32', t.dtype);
  }
  return values;
}

/** The Int32Array behind an int32 tensor of the native backend, without a copy. */
export function i32(backend: NativeBackend, t: tf.TensorInfo, op: string): Int32Array {
  const values = backend.data.get(t.dataId)?.values;
  if (!(values instanceof Int32Array)) {
    throw new ShapeError(`${op}: expected an int32 tensor, found ${t.dtype}`, op, 'int32', t.dtype);
  }
  return values;
}

/** Wraps a freshly filled array as the backend's output (no copy). */
export function output(backend: NativeBackend, shape: number[], values: Float32Array): tf.TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', values);
}
