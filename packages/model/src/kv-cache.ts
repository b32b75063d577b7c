// Key/value cache for incremental decoding: per layer, the rotated keys and the values of every position seen.
// Grown by concatenation (B, n_kv, length, hs) on every backend; on the native backend with a capacity, buffers of
// `capacity` positions (B, capacity, n_kv, hs) written in place, which the cached-attention kernel reads where they lie.
import { hasCachedAttentionKernel, writeInPlace } from '@loralab/kernels';
import * as tf from '@tensorflow/tfjs-core';

export interface KVCacheOptions {
  /**
   * Positions the cache will hold at most (prompt + new tokens). With it, on the native backend, keys and values go
   * into preallocated buffers in place instead of a concatenation that copies the whole cache at every step.
   */
  capacity?: number;
}

/** Owns its tensors: call `dispose()` when generation ends. */
export class KVCache {
  /**
   * Per layer: k and v, each (B, n_kv_heads, length, head_dim), or null before the first step; in place
   * (`inPlace`), (B, capacity, n_kv_heads, head_dim) with the first `length` positions filled.
   */
  readonly layers: ({ k: tf.Tensor4D; v: tf.Tensor4D } | null)[];
  /** Whether keys and values are written in place into buffers of `capacity` positions. */
  readonly inPlace: boolean;
  readonly capacity: number | null;
  private readonly filled: number[];

  constructor(numLayers: number, options: KVCacheOptions = {}) {
    this.layers = Array.from({ length: numLayers }, () => null);
    this.filled = Array.from({ length: numLayers }, () => 0);
    const capacity = options.capacity ?? null;
    if (capacity !== null && !(Number.isInteger(capacity) && capacity > 0))
      throw new RangeError(`KVCache: capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.inPlace = capacity !== null && hasCachedAttentionKernel();
  }

  /** Positions cached so far. */
  get length(): number {
    return this.inPlace ? this.filled[0]! : (this.layers[0]?.k.shape[2] ?? 0);
  }

  /**
   * Appends this step's k, v (B, n_kv, T, hs) for `layer` and returns the full k, v (B, n_kv, past+T, hs).
   * The cache keeps the returned tensors alive beyond any enclosing `tf.tidy`; the old ones are released.
   */
  append(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): { k: tf.Tensor4D; v: tf.Tensor4D } {
    if (this.inPlace) throw new Error('KVCache.append: an in-place cache takes write()');
    const prev = this.layers[layer] ?? null;
    const next = prev
      ? { k: tf.keep(tf.concat([prev.k, k], 2)), v: tf.keep(tf.concat([prev.v, v], 2)) }
      : { k: tf.keep(tf.clone(k)), v: tf.keep(tf.clone(v)) };
    if (prev) tf.dispose([prev.k, prev.v]);
    this.layers[layer] = next;
    return next;
  }

  /**
   * In place: writes this step's k, v (B, T, n_kv, hs) of `layer` after the positions it holds and returns the
   * buffers (B, capacity, n_kv, hs) with the number of positions now filled.
   */
  write(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): { k: tf.Tensor4D; v: tf.Tensor4D; length: number } {
    if (!this.inPlace) throw new Error('KVCache.write: only an in-place cache takes write()');
    const [B, T, nkv, hs] = k.shape;
    const past = this.filled[layer]!;
    if (past + T > this.capacity!)
      throw new RangeError(`KVCache: ${past + T} positions exceed the capacity ${this.capacity}`);
    let l = this.layers[layer];
    if (!l) {
      const shape: [number, number, number, number] = [B, this.capacity!, nkv, hs];
      l = { k: tf.keep(tf.zeros(shape)), v: tf.keep(tf.zeros(shape)) };
      this.layers[layer] = l;
    }
    writeInPlace(l.k, k, past);
    writeInPlace(l.v, v, past);
    this.filled[layer] = past + T;
    return { ...l, length: past + T };
  }

  /** Keeps only the batch rows in `rows` (for dropping finished sequences). */
  select(rows: number[]): void {
    const idx = tf.tensor1d(rows, 'int32');
    for (let i = 0; i < this.layers.length; i++) {
      const l = this.layers[i];
      if (!l) continue;
      this.layers[i] = { k: tf.keep(tf.gather(l.k, idx)), v: tf.keep(tf.gather(l.v, idx)) };
      tf.dispose([l.k, l.v]);
    }
    idx.dispose();
  }

  dispose(): void {
    for (let i = 0; i < this.layers.length; i++) {
      const l = this.layers[i];
      if (l) tf.dispose([l.k, l.v]);
      this.layers[i] = null;
      this.filled[i] = 0;
    }
  }
}
