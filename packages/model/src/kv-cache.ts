// Key/value cache for incremental decoding: per layer, the rotated keys and the values of every position seen.
import * as tf from '@tensorflow/tfjs-core';

/** Owns its tensors: call `dispose()` when generation ends. */
export class KVCache {
  /** Per layer: k and v, each (B, n_kv_heads, length, head_dim), or null before the first step. */
  readonly layers: ({ k: tf.Tensor4D; v: tf.Tensor4D } | null)[];

  constructor(numLayers: number) {
    this.layers = Array.from({ length: numLayers }, () => null);
  }

  /** Positions cached so far. */
  get length(): number {
    return this.layers[0]?.k.shape[2] ?? 0;
  }

  /**
   * Appends this step's k, v (B, n_kv, T, hs) for `layer` and returns the full k, v (B, n_kv, past+T, hs).
   * The cache keeps the returned tensors alive beyond any enclosing `tf.tidy`; the old ones are released.
   */
  append(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): { k: tf.Tensor4D; v: tf.Tensor4D } {
    const prev = this.layers[layer] ?? null;
    const next = prev
      ? { k: tf.keep(tf.concat([prev.k, k], 2)), v: tf.keep(tf.concat([prev.v, v], 2)) }
      : { k: tf.keep(tf.clone(k)), v: tf.keep(tf.clone(v)) };
    if (prev) tf.dispose([prev.k, prev.v]);
    this.layers[layer] = next;
    return next;
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
    }
  }
}
