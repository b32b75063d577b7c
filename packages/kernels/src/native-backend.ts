// The 'loralab-native' TensorFlow.js backend: the tfjs `cpu` backend (tensors are plain TypedArrays in its data
// storage) with native kernels registered over the hot ones. A separate backend rather than overriding `cpu`'s
// kernels: `cpu` stays untouched as the reference in the same process, and a model picks native by name.
//
// Output buffers are recycled. A fresh Float32Array is zeroed memory that the kernel faults in page by page (a
// training step at size b touched ~600 MB of new pages, 150K page faults); the native kernels instead take their
// outputs from a pool of buffers freed by disposed tensors, keyed by length. A buffer returns to the pool only when
// nothing can still see it: every stored tensor that holds it (views made by slicing count) has been disposed, and
// its values were never handed out (dataSync, data, arraySync and buffer read through readSync, which marks the
// buffer as escaped for good).
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { ShapeError } from './errors.js';

/** Outputs of fewer elements are plain allocations (V8 hands small arrays out cheaply). */
const POOL_MIN_ELEMENTS = 1 << 14;

/** Counters of the output buffer pool (see NativeBackend.poolStats). */
export interface BufferPoolStats {
  /** Pooled allocations served from a recycled buffer. */
  reused: number;
  /** Pooled allocations that made a new buffer. */
  fresh: number;
  /** Bytes of free buffers held now. */
  freeBytes: number;
  /** Bytes of buffers that reached the free list's limit and were left to the garbage collector. */
  droppedBytes: number;
}

/** `cpu` backend plus the addon; kernels reach the addon through the backend they are called with. */
export class NativeBackend extends MathBackendCPU {
  /** Free buffers by length (the most recently freed last). */
  private readonly free = new Map<number, Float32Array[]>();
  /** Free buffers, oldest first (the ones evicted first when the limit is reached). */
  private readonly freeOrder = new Set<Float32Array>();
  /** Pool-made buffers in use → the number of stored tensors holding them (a view of one counts as a holder). Weak:
   * a buffer whose kernel failed before storing it is simply collected. */
  private holders = new WeakMap<ArrayBuffer, number>();
  private readonly stats: BufferPoolStats = { reused: 0, fresh: 0, freeBytes: 0, droppedBytes: 0 };

  /**
   * @param poolBytes most bytes of free buffers kept for reuse (0: no pool, every output a fresh array)
   * @param poison fill every output of `alloc` (pooled or not) with NaN before its kernel writes it (a test aid: a kernel that reads an
   *   output element before writing it, or leaves one unwritten, then shows up as NaN)
   */
  constructor(
    readonly addon: NativeAddon,
    readonly poolBytes = 0,
    readonly poison = false,
  ) {
    super();
    // The cpu backend's first write prints an advert for tfjs-node; this backend is the native path.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /**
   * A Float32Array of n elements for a kernel's output, with arbitrary contents (a recycled buffer): the kernel
   * must write every element. `zeros` when it accumulates.
   */
  alloc(n: number): Float32Array {
    let out: Float32Array;
    if (n < POOL_MIN_ELEMENTS || this.poolBytes === 0) {
      out = new Float32Array(n);
    } else {
      const recycled = this.free.get(n)?.pop();
      if (recycled !== undefined) {
        this.stats.reused++;
        this.stats.freeBytes -= recycled.byteLength;
        this.freeOrder.delete(recycled);
        out = recycled;
      } else {
        this.stats.fresh++;
        out = new Float32Array(n);
      }
      this.holders.set(out.buffer as ArrayBuffer, 0);
    }
    if (this.poison) out.fill(Number.NaN);
    return out;
  }

  /** A zero-filled Float32Array of n elements for a kernel's output (from the pool when large). */
  zeros(n: number): Float32Array {
    const reused = this.stats.reused;
    const out = this.alloc(n);
    if (this.poison || this.stats.reused !== reused) out.fill(0);
    return out;
  }

  /** Returns a kernel's scratch buffer from `alloc`, which no tensor holds, to the pool. */
  recycle(values: Float32Array): void {
    if (this.holders.get(values.buffer as ArrayBuffer) === 0) this.release(values);
  }

  /** The pool's counters since the backend was made. */
  poolStats(): BufferPoolStats {
    return { ...this.stats };
  }

  /** Drops every free buffer (the garbage collector then returns their memory). */
  clearPool(): void {
    this.free.clear();
    this.freeOrder.clear();
    this.stats.freeBytes = 0;
  }

  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId {
    this.hold(values);
    return super.write(values, shape, dtype);
  }

  override move(
    dataId: tf.DataId,
    values: tf.backend_util.BackendValues,
    shape: number[],
    dtype: tf.DataType,
    refCount: number,
  ): void {
    this.hold(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: tf.DataId): tf.backend_util.BackendValues {
    const values = super.readSync(dataId);
    const buffer = bufferOf(values);
    if (buffer !== null) this.holders.delete(buffer); // the caller keeps it: never recycled
    return values;
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    const values = this.data.get(dataId)?.values;
    const gone = super.disposeData(dataId, force);
    if (gone && values !== undefined) this.release(values);
    return gone;
  }

  override dispose(): void {
    this.clearPool();
    this.holders = new WeakMap();
    super.dispose();
  }

  private hold(values: tf.backend_util.BackendValues | null | undefined): void {
    const buffer = bufferOf(values);
    const n = buffer === null ? undefined : this.holders.get(buffer);
    if (n !== undefined) this.holders.set(buffer!, n + 1);
  }

  private release(values: tf.backend_util.BackendValues): void {
    const buffer = bufferOf(values);
    const n = buffer === null ? undefined : this.holders.get(buffer);
    if (n === undefined) return;
    if (n > 1) {
      this.holders.set(buffer!, n - 1);
      return;
    }
    this.holders.delete(buffer!);
    if (buffer!.byteLength > this.poolBytes) {
      this.stats.droppedBytes += buffer!.byteLength;
      return;
    }
    // Over the limit, the oldest free buffers go first: a shape that stopped recurring (an evaluation's batch after
    // training, say) does not keep its buffers forever.
    for (const old of this.freeOrder) {
      if (this.stats.freeBytes + buffer!.byteLength <= this.poolBytes) break;
      this.freeOrder.delete(old);
      const list = this.free.get(old.length)!;
      list.splice(list.indexOf(old), 1);
      this.stats.freeBytes -= old.byteLength;
      this.stats.droppedBytes += old.byteLength;
    }
    const whole = new Float32Array(buffer!);
    const list = this.free.get(whole.length);
    if (list === undefined) this.free.set(whole.length, [whole]);
    else list.push(whole);
    this.freeOrder.add(whole);
    this.stats.freeBytes += buffer!.byteLength;
  }
}

function bufferOf(values: tf.backend_util.BackendValues | null | undefined): ArrayBuffer | null {
  return ArrayBuffer.isView(values) ? (values.buffer as ArrayBuffer) : null;
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
