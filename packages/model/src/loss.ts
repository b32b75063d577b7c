// Next-token cross-entropy with ignore index -100, as Hugging Face `LlamaForCausalLM` (labels are the input ids,
// shifted inside), but returning the summed loss and the number of target tokens so that accumulation over
// micro-batches can normalise by the total token count.
import { crossEntropy, linearCrossEntropy, nativeBackendActive } from '@loralab/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from './errors.js';

/** Label value that contributes no loss (PyTorch's `ignore_index`). */
export const IGNORE_INDEX = -100;

/** The loss of a batch: `loss` is Σ over target tokens of −log p(target); divide by `numTokens` for the mean. */
export interface LossResult {
  loss: tf.Scalar;
  numTokens: number;
}

/**
 * Σ_n w_n (logsumexp(x_n) − x_n[t_n]) for logits x (N, V), targets t (N) and weights w ∈ {0, 1} (N).
 * Stable: the log-sum-exp subtracts the row max. Fused gradient: dx = dy · w ⊙ (softmax(x) − onehot(t)),
 * which avoids materialising log-probabilities and needs no gather gradient.
 */
export function crossEntropySum(logits: tf.Tensor2D, targets: Int32Array, weights: Float32Array): tf.Scalar {
  const [N, V] = logits.shape;
  if (targets.length !== N || weights.length !== N) {
    throw new ShapeError(
      `crossEntropySum: ${targets.length} targets and ${weights.length} weights for ${N} rows of logits`,
      'crossEntropySum',
      [N],
      [targets.length],
    );
  }
  const labels = nativeLabels(targets, weights);
  if (labels !== null) {
    // the fused native kernel: one pass over the logits forward, one backward, nothing (N, V) kept but the logits
    return tf.tidy(
      () => crossEntropy(logits, tf.tensor1d(labels, 'int32'), IGNORE_INDEX, 'sum') as tf.Scalar,
    );
  }
  const flat = new Int32Array(N); // index of each target in the flattened (N·V) logits
  for (let n = 0; n < N; n++) flat[n] = n * V + targets[n]!;
  const f = tf.customGrad((x, save) => {
    const xs = x as tf.Tensor2D;
    (save as tf.GradSaveFunc)([xs]);
    // (N, V) temporaries are released as soon as they are used: with a large vocabulary they dominate memory.
    const value = tf.tidy(() => {
      const m = tf.max(xs, 1, true); // (N, 1)
      const shifted = tf.sub(xs, m); // (N, V)
      const e = tf.exp(shifted);
      shifted.dispose();
      const s = tf.sum(e, 1); // (N)
      e.dispose();
      const lse = tf.add(tf.reshape(m, [N]), tf.log(s)); // (N)
      const picked = tf.gather(tf.reshape(xs, [N * V]), tf.tensor1d(flat, 'int32')); // (N)
      return tf.sum(tf.mul(tf.sub(lse, picked), tf.tensor1d(weights))) as tf.Scalar;
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const p = tf.softmax(saved[0]!); // (N, V)
        const pw = tf.mul(p, tf.mul(tf.tensor2d(weights, [N, 1]), dy)); // dy · w_n · softmax
        p.dispose();
        const scattered = tf.scatterND(tf.tensor2d(flat, [N, 1], 'int32'), tf.mul(tf.tensor1d(weights), dy), [
          N * V,
        ]);
        const onehot = tf.reshape(scattered, [N, V]); // dy · w_n at (n, t_n)
        const grad = tf.sub(pw, onehot);
        tf.dispose([pw, onehot, scattered]);
        return grad;
      },
    };
  });
  return f(logits) as tf.Scalar;
}

/**
 * Labels for the native kernels of @loralab/kernels, which take an ignore index instead of weights: rows of weight 0
 * become IGNORE_INDEX. Null when they do not apply (not the native backend, or weights other than 0 and 1).
 */
function nativeLabels(targets: Int32Array, weights: Float32Array): Int32Array | null {
  if (!nativeBackendActive() || !weights.every((w) => w === 0 || w === 1)) return null;
  return Int32Array.from(targets, (t, n) => (weights[n] === 0 ? IGNORE_INDEX : t));
}

/**
 * The lm_head and `crossEntropySum` in one: Σ_n w_n CE(h_n Wᵀ, t_n) through @loralab/kernels' chunked
 * `linearCrossEntropy`, which never materialises the (N, V) logits or their gradient. Null where that kernel does not
 * apply (not the native backend, or weights other than 0 and 1); the caller then takes the unfused path. With
 * `gradInForward` the gradients of h (and of W when it is trainable) are computed during the forward pass: for a
 * loss that is differentiated right away.
 */
export function linearCrossEntropySum(
  h: tf.Tensor2D,
  weight: tf.Variable,
  targets: Int32Array,
  weights: Float32Array,
  gradInForward: boolean,
): tf.Scalar | null {
  const labels = nativeLabels(targets, weights);
  if (labels === null) return null;
  return tf.tidy(() =>
    linearCrossEntropy(h, weight as tf.Tensor as tf.Tensor2D, tf.tensor1d(labels, 'int32'), {
      reduction: 'sum',
      weightGrad: weight.trainable,
      gradInForward,
    }),
  );
}

/**
 * Shifts labels (B, T) one step left against the logits' positions and builds targets and weights:
 * position t of sequence b predicts labels[b, t+1]; IGNORE_INDEX (or the last position) contributes nothing.
 */
export function shiftLabels(
  labels: ArrayLike<number>,
  batch: number,
  seq: number,
  vocab: number,
): { targets: Int32Array; weights: Float32Array; numTokens: number } {
  if (labels.length !== batch * seq) {
    throw new ShapeError(
      `labels have ${labels.length} values, expected B·T = ${batch * seq}`,
      'loss',
      [batch, seq],
      [labels.length],
    );
  }
  const N = batch * (seq - 1);
  const targets = new Int32Array(N);
  const weights = new Float32Array(N);
  let numTokens = 0;
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < seq - 1; t++) {
      const lab = labels[b * seq + t + 1]!;
      const n = b * (seq - 1) + t;
      if (lab === IGNORE_INDEX) continue;
      if (!Number.isInteger(lab) || lab < 0 || lab >= vocab) {
        throw new ShapeError(
          `label ${lab} at [${b}, ${t + 1}] is outside [0, vocab_size=${vocab}) and is not ${IGNORE_INDEX}`,
          'loss',
          [],
          [b, t + 1],
        );
      }
      targets[n] = lab;
      weights[n] = 1;
      numTokens++;
    }
  }
  return { targets, weights, numTokens };
}

/** Summed causal-LM loss of logits (B, T, V) against labels (B, T) (row-major, IGNORE_INDEX to skip). */
export function causalLmLoss(logits: tf.Tensor3D, labels: ArrayLike<number>): LossResult {
  const [B, T, V] = logits.shape;
  const { targets, weights, numTokens } = shiftLabels(labels, B, T, V);
  const loss = tf.tidy(() => {
    const shifted = tf.reshape(tf.slice(logits, [0, 0, 0], [B, T - 1, V]), [B * (T - 1), V]) as tf.Tensor2D;
    return crossEntropySum(shifted, targets, weights);
  });
  return { loss, numTokens };
}
