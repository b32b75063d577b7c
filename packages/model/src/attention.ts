// Causal self-attention with grouped-query attention (Ainslie et al. 2023), as Hugging Face `LlamaAttention`:
// softmax(q kᵀ / √hs + mask) v over heads, where query head h reads key/value head ⌊h / (nh / n_kv)⌋.
// Causal attention with or without padding (no segment mask, no cache history, no attention dropout) on the native
// backend runs the fused kernel of @loralab/kernels, which never forms the (T, T) scores and takes the padding as a
// key mask; everything else the tfjs path.
import { applyRope as applyRopeLayout, cachedAttention, causalAttention } from '@loralab/kernels';
import * as tf from '@tensorflow/tfjs-core';
import type { LlamaConfig } from './config.js';
import type { KVCache } from './kv-cache.js';
import { bmm, dropout, maskedSoftmax, transposeLast2 } from './ops.js';
import type { ForwardContext, Projection } from './projection.js';
import { applyRope } from './rope.js';

/** Per-forward tensors shared by every layer. */
export interface AttentionInputs {
  /** (B, 1, T, hs) rotary tables for the current positions. */
  cos: tf.Tensor4D;
  sin: tf.Tensor4D;
  /** The same tables times 1/√hs, for the queries (so the attention scores need no scaling pass). */
  qCos: tf.Tensor4D;
  qSin: tf.Tensor4D;
  /**
   * Additive mask (B, 1, T, Tk): 0 where a query may attend to a key, a large negative number elsewhere; null when
   * `fusedCausal` (the mask is then the plain causal one and the fused kernel applies it itself).
   */
  mask: tf.Tensor4D | null;
  /**
   * Run the fused causal kernel (native backend, causal mask up to padding, no packing, no cached keys, no attention
   * dropout).
   */
  fusedCausal: boolean;
  /**
   * With `fusedCausal`: (B, T) 1 for a real token, 0 for padding; with an in-place cache, (B, past + T) over the
   * cached and current keys; null or absent when nothing is padded.
   */
  keyMask?: tf.Tensor2D | null;
  cache?: KVCache | undefined;
}

export interface AttentionProjections {
  q_proj: Projection;
  k_proj: Projection;
  v_proj: Projection;
  o_proj: Projection;
}

/** x (B·T, d) of a batch of B sequences of T tokens -> (B·T, d). */
export function attention(
  x: tf.Tensor2D,
  batch: number,
  seq: number,
  layer: number,
  proj: AttentionProjections,
  config: LlamaConfig,
  inputs: AttentionInputs,
  ctx: ForwardContext,
): tf.Tensor2D {
  return tf.tidy(() => {
    const nh = config.num_attention_heads;
    const nkv = config.num_key_value_heads;
    const hs = config.head_dim;
    const rep = nh / nkv;
    const B = batch;
    const T = seq;
    if (inputs.cache?.inPlace) {
      // Decoding on the native backend: the new keys and values go into the cache's buffers in place, and the
      // queries attend to its filled positions where they lie; padding keys are excluded by the key mask.
      const seq = (y: tf.Tensor2D, n: number) => tf.reshape(y, [B, T, n, hs]) as tf.Tensor4D; // (B, T, n, hs)
      const q = applyRopeLayout(seq(proj.q_proj.apply(x, ctx), nh), inputs.cos, inputs.sin, 'bthd');
      const k = applyRopeLayout(seq(proj.k_proj.apply(x, ctx), nkv), inputs.cos, inputs.sin, 'bthd');
      const v = seq(proj.v_proj.apply(x, ctx), nkv);
      const cached = inputs.cache.write(layer, k as tf.Tensor4D, v);
      const o = cachedAttention(
        q,
        cached.k,
        cached.v,
        cached.length,
        1 / Math.sqrt(hs),
        inputs.keyMask ?? null,
      );
      return proj.o_proj.apply(tf.reshape(o, [B * T, nh * hs]) as tf.Tensor2D, ctx); // (B·T, nh·hs)
    }
    if (inputs.fusedCausal) {
      // The fused kernels take the (B, T, heads, hs) layout: the projections' output reshaped, no transposes.
      const seq = (y: tf.Tensor2D, n: number) => tf.reshape(y, [B, T, n, hs]) as tf.Tensor4D; // (B, T, n, hs)
      const q = applyRopeLayout(seq(proj.q_proj.apply(x, ctx), nh), inputs.cos, inputs.sin, 'bthd');
      const k = applyRopeLayout(seq(proj.k_proj.apply(x, ctx), nkv), inputs.cos, inputs.sin, 'bthd');
      const v = seq(proj.v_proj.apply(x, ctx), nkv);
      if (inputs.cache) {
        // an empty cache (the prompt of a generation): it stores (B, nkv, T, hs)
        const toHeads = (t: tf.Tensor) => tf.transpose(t, [0, 2, 1, 3]) as tf.Tensor4D;
        inputs.cache.append(layer, toHeads(k), toHeads(v));
      }
      // (B, T, nh, hs), grouped-query inside; padding keys excluded by the key mask
      const o = causalAttention(q, k, v, 1 / Math.sqrt(hs), 'bthd', inputs.keyMask ?? null);
      return proj.o_proj.apply(tf.reshape(o, [B * T, nh * hs]) as tf.Tensor2D, ctx); // (B·T, nh·hs)
    }
    const heads = (y: tf.Tensor2D, n: number) =>
      tf.transpose(tf.reshape(y, [B, T, n, hs]), [0, 2, 1, 3]) as tf.Tensor4D; // (B, n, T, hs)
    let q = heads(proj.q_proj.apply(x, ctx), nh); // (B, nh, T, hs)
    let k = heads(proj.k_proj.apply(x, ctx), nkv); // (B, nkv, T, hs)
    let v = heads(proj.v_proj.apply(x, ctx), nkv); // (B, nkv, T, hs)
    if (inputs.mask === null) throw new Error('attention: a mask is required off the fused causal path');
    q = applyRope(q, inputs.qCos, inputs.qSin); // tables pre-scaled by 1/√hs: the scores come out scaled
    k = applyRope(k, inputs.cos, inputs.sin);
    if (inputs.cache) ({ k, v } = inputs.cache.append(layer, k, v)); // (B, nkv, Tk, hs)
    const Tk = k.shape[2];
    // GQA without repeating k/v: the rep query heads of one kv head are stacked along the row axis.
    const qg = tf.reshape(q, [B * nkv, rep * T, hs]) as tf.Tensor3D; // (B·nkv, rep·T, hs)
    const kT = transposeLast2(tf.reshape(k, [B * nkv, Tk, hs])) as tf.Tensor3D; // (B·nkv, hs, Tk)
    const vg = tf.reshape(v, [B * nkv, Tk, hs]) as tf.Tensor3D; // (B·nkv, Tk, hs)
    const scores = tf.reshape(bmm(qg, kT), [B, nh, T, Tk]) as tf.Tensor4D; // (B, nh, T, Tk)
    let probs: tf.Tensor = maskedSoftmax(scores, inputs.mask);
    if (ctx.training && config.attention_dropout > 0) {
      probs = dropout(probs, config.attention_dropout, ctx.nextSeed());
    }
    const out = bmm(tf.reshape(probs, [B * nkv, rep * T, Tk]) as tf.Tensor3D, vg); // (B·nkv, rep·T, hs)
    const merged = tf.reshape(tf.transpose(tf.reshape(out, [B, nh, T, hs]), [0, 2, 1, 3]), [B * T, nh * hs]); // (B·T, nh·hs)
    return proj.o_proj.apply(merged as tf.Tensor2D, ctx);
  });
}
