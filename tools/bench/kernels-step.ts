// The small Llama-like training step of the kernels benchmark, built from tfjs ops: embedding, RMSNorm, RoPE
// attention, SwiGLU MLP, cross-entropy and AdamW. `native` uses the fused ops of @loralab/kernels and the in-place
// AdamW; the other variants use the tfjs composites (the references of the fused ops) and an AdamW of tfjs ops.

import {
  applyRope,
  causalAttention,
  causalAttentionReference,
  crossEntropy,
  crossEntropyReference,
  InPlaceAdamW,
  rmsNorm,
  rmsNormReference,
  ropeReference,
  swiglu,
  swigluReference,
} from '@loralab/kernels';
import * as tf from '@tensorflow/tfjs-core';

/** Size a of the model benchmark (issue 4): 8192 tokens per step. */
export const SIZE_A = {
  hidden: 128,
  layers: 4,
  heads: 4,
  vocab: 4096,
  seq: 128,
  tokens: 8192,
  intermediate: 384,
};
export type Size = typeof SIZE_A;

export interface Ops {
  linear: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor;
  rmsNorm: (x: tf.Tensor, w: tf.Tensor, eps: number) => tf.Tensor;
  rope: (x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor) => tf.Tensor;
  attention: (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor;
  swiglu: (g: tf.Tensor, u: tf.Tensor) => tf.Tensor;
  crossEntropy: (logits: tf.Tensor, labels: tf.Tensor) => tf.Tensor;
}

/** x (N, in) · W (in, out) with explicit transposes in the gradient: wasm runs transposed products ~20x slower. */
const linearExplicitT = (x: tf.Tensor, w: tf.Tensor) =>
  tf.customGrad((a, b, save) => {
    (save as tf.GradSaveFunc)([a as tf.Tensor, b as tf.Tensor]);
    return {
      value: tf.matMul(a as tf.Tensor, b as tf.Tensor),
      gradFunc: (dy: tf.Tensor, [sa, sb]: tf.Tensor[]) => [
        tf.matMul(dy, tf.transpose(sb!)),
        tf.matMul(tf.transpose(sa!), dy),
      ],
    };
  })(x, w) as tf.Tensor;

export const FUSED: Ops = {
  linear: (x, w) => tf.matMul(x, w),
  rmsNorm,
  rope: applyRope,
  attention: (q, k, v) => causalAttention(q, k, v),
  swiglu,
  crossEntropy: (l, y) => crossEntropy(l, y),
};
export const COMPOSITE: Ops = {
  linear: linearExplicitT,
  rmsNorm: rmsNormReference,
  rope: ropeReference,
  attention: (q, k, v) => causalAttentionReference(q, k, v),
  swiglu: swigluReference,
  crossEntropy: (l, y) => crossEntropyReference(l, y),
};

/** Embedding lookup whose gradient is a scatter-add (the wasm backend lacks UnsortedSegmentSum, gather's gradient). */
const embed = (table: tf.Tensor, ids: tf.Tensor) =>
  tf.customGrad((w, i, save) => {
    (save as tf.GradSaveFunc)([i as tf.Tensor]);
    return {
      value: tf.gather(w as tf.Tensor, i as tf.Tensor),
      gradFunc: (dy: tf.Tensor, [si]: tf.Tensor[]) => [
        tf.scatterND(tf.expandDims(si!, 1), dy, (w as tf.Tensor).shape),
        tf.zeros(si!.shape),
      ],
    };
  })(table, ids) as tf.Tensor;

/**
 * One training step of `s.tokens` tokens: forward, backward and AdamW. `microBatches` > 1 accumulates the gradients
 * of equal slices of the batch (the same update: every row has a label) to fit the wasm backend's 4 GiB heap.
 */
export function buildStep(
  variant: string,
  s: Size = SIZE_A,
  microBatches = 1,
): { step: () => number; params: number } {
  const ops = variant === 'native' ? FUSED : COMPOSITE;
  const d = s.hidden;
  const hs = d / s.heads;
  const B = s.tokens / s.seq / microBatches; // sequences per micro-batch
  let seed = 1;
  const param = (shape: number[], std: number | null) =>
    tf.variable(std === null ? tf.ones(shape) : tf.randomNormal(shape, 0, std, 'float32', seed++));
  const layers = Array.from({ length: s.layers }, () => ({
    ln1: param([d], null),
    q: param([d, d], 0.02),
    k: param([d, d], 0.02),
    v: param([d, d], 0.02),
    o: param([d, d], 0.02),
    ln2: param([d], null),
    gate: param([d, s.intermediate], 0.02),
    up: param([d, s.intermediate], 0.02),
    down: param([s.intermediate, d], 0.02),
  }));
  const embedding = param([s.vocab, d], 0.02);
  const lnf = param([d], null);
  const head = param([d, s.vocab], 0.02);
  const vars = [embedding, ...layers.flatMap((l) => Object.values(l)), lnf, head];
  const nParams = vars.reduce((a, v) => a + v.size, 0);

  // RoPE tables (1, 1, T, hs), HF convention
  const cosT = new Float32Array(s.seq * hs);
  const sinT = new Float32Array(s.seq * hs);
  for (let t = 0; t < s.seq; t++) {
    for (let i = 0; i < hs / 2; i++) {
      const angle = t * 10000 ** ((-2 * i) / hs);
      for (const j of [i, i + hs / 2]) {
        cosT[t * hs + j] = Math.cos(angle);
        sinT[t * hs + j] = Math.sin(angle);
      }
    }
  }
  const cos = tf.tensor4d(cosT, [1, 1, s.seq, hs]);
  const sin = tf.tensor4d(sinT, [1, 1, s.seq, hs]);
  const idsArr = Int32Array.from({ length: s.tokens }, (_, i) => (i * 7919) % s.vocab);
  const labArr = Int32Array.from({ length: s.tokens }, (_, i) =>
    (i + 1) % s.seq === 0 ? idsArr[i - s.seq + 1]! : idsArr[i + 1]!,
  ); // torch.roll(ids, -1, 1)
  const slice = B * s.seq;
  const micro = Array.from({ length: microBatches }, (_, j) => ({
    ids: tf.tensor1d(idsArr.subarray(j * slice, (j + 1) * slice), 'int32'),
    labels: tf.tensor1d(labArr.subarray(j * slice, (j + 1) * slice), 'int32'),
  }));
  let ids = micro[0]!.ids;
  let labels = micro[0]!.labels;

  const heads = (x: tf.Tensor) => tf.transpose(tf.reshape(x, [B, s.seq, s.heads, hs]), [0, 2, 1, 3]); // (B, nh, T, hs)
  const lossFn = () => {
    let x = embed(embedding, ids); // (B·T, d)
    for (const l of layers) {
      const h = ops.rmsNorm(x, l.ln1, 1e-6);
      const q = ops.rope(heads(ops.linear(h, l.q)), cos, sin);
      const k = ops.rope(heads(ops.linear(h, l.k)), cos, sin);
      const v = heads(ops.linear(h, l.v));
      const a = tf.reshape(tf.transpose(ops.attention(q, k, v), [0, 2, 1, 3]), [B * s.seq, d]);
      x = tf.add(x, ops.linear(a, l.o));
      const h2 = ops.rmsNorm(x, l.ln2, 1e-6);
      x = tf.add(x, ops.linear(ops.swiglu(ops.linear(h2, l.gate), ops.linear(h2, l.up)), l.down));
    }
    const logits = ops.linear(ops.rmsNorm(x, lnf, 1e-6), head); // (B·T, V)
    return ops.crossEntropy(logits, labels) as tf.Scalar;
  };

  // AdamW: native in place, else tfjs ops (torch.optim.AdamW semantics, lr 1e-4, wd 0.01)
  const native = variant === 'native' ? new InPlaceAdamW(vars, { lr: 1e-4, weightDecay: 0.01 }) : null;
  const m = native ? [] : vars.map((v) => tf.variable(tf.zerosLike(v), false));
  const sq = native ? [] : vars.map((v) => tf.variable(tf.zerosLike(v), false));
  let t = 0;
  const adamw = (grads: tf.Tensor[]) => {
    if (native) return native.update(grads);
    t++;
    tf.tidy(() =>
      vars.forEach((w, i) => {
        const g = grads[i]!;
        m[i]!.assign(tf.add(tf.mul(m[i]!, 0.9), tf.mul(g, 0.1)));
        sq[i]!.assign(tf.add(tf.mul(sq[i]!, 0.999), tf.mul(tf.square(g), 0.001)));
        const upd = tf.div(
          tf.div(m[i]!, 1 - 0.9 ** t),
          tf.add(tf.sqrt(tf.div(sq[i]!, 1 - 0.999 ** t)), 1e-8),
        );
        w.assign(tf.sub(tf.mul(w, 1 - 1e-4 * 0.01), tf.mul(upd, 1e-4)));
      }),
    );
  };
  const step = () => {
    let loss = 0;
    let acc: tf.Tensor[] = [];
    for (const mb of micro) {
      ids = mb.ids;
      labels = mb.labels;
      const { value, grads } = tf.variableGrads(lossFn, vars);
      loss += value.dataSync()[0]! / microBatches;
      const g = vars.map((v) => grads[v.name]!);
      if (acc.length === 0) acc = g;
      else {
        const sum = acc.map((a, i) => tf.add(a, g[i]!));
        tf.dispose([...acc, ...g]);
        acc = sum;
      }
      value.dispose();
    }
    const mean = microBatches === 1 ? acc : acc.map((a) => tf.div(a, microBatches));
    adamw(mean);
    tf.dispose(microBatches === 1 ? acc : [...acc, ...mean]);
    return loss;
  };
  return { step, params: nParams };
}
