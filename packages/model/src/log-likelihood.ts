// Log-likelihood of continuations given contexts (as lm-evaluation-harness `loglikelihood`): the model reads
// (context + continuation)[:-1] and the log-probabilities of the continuation tokens are summed; `isGreedy` says
// whether every continuation token was the argmax. Multiple-choice scoring compares these sums.
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from './errors.js';
import type { LlamaForCausalLM } from './llama-model.js';

export interface LoglikelihoodRequest {
  context: number[];
  continuation: number[];
}

export interface LoglikelihoodResult {
  /** Σ log p(continuation token | everything before it), natural log. */
  logprob: number;
  /** True when each continuation token was the most likely token at its position. */
  isGreedy: boolean;
  /** Number of continuation tokens scored. */
  numTokens: number;
}

export interface LoglikelihoodOptions {
  /** Sequences per forward pass (default 8). */
  batchSize?: number;
  /** Longest input; longer ones lose tokens from the left of the context (default max_position_embeddings). */
  maxLength?: number;
}

/** Scores each request; results are in request order. Leaves no tensors behind. */
export async function logLikelihood(
  model: LlamaForCausalLM,
  requests: LoglikelihoodRequest[],
  options: LoglikelihoodOptions = {},
): Promise<LoglikelihoodResult[]> {
  const c = model.config;
  const batchSize = options.batchSize ?? 8;
  const maxLength = options.maxLength ?? c.max_position_embeddings;
  const items = requests.map((r, i) => {
    if (r.continuation.length === 0)
      throw new ShapeError(`request ${i} has an empty continuation`, 'logLikelihood', [null], [0]);
    let context = r.context;
    if (context.length === 0) {
      if (c.bos_token_id === null) {
        throw new ShapeError(
          `request ${i} has an empty context and the config has no bos_token_id`,
          'logLikelihood',
          [null],
          [0],
        );
      }
      context = [c.bos_token_id];
    }
    if (r.continuation.length > maxLength) {
      throw new ShapeError(
        `request ${i}: continuation of ${r.continuation.length} tokens exceeds maxLength ${maxLength}`,
        'logLikelihood',
        [maxLength],
        [r.continuation.length],
      );
    }
    const whole = [...context, ...r.continuation].slice(-(maxLength + 1));
    return { index: i, input: whole.slice(0, -1), targets: whole.slice(1), n: r.continuation.length };
  });
  // Longest first, so each batch pads little (as the harness does).
  items.sort((a, b) => b.input.length - a.input.length);
  const results: LoglikelihoodResult[] = new Array(requests.length);
  for (let start = 0; start < items.length; start += batchSize) {
    const batch = items.slice(start, start + batchSize);
    const T = batch[0]!.input.length;
    const B = batch.length;
    // Right padding: causal attention means padding after a sequence never affects its positions.
    const ids = batch.map((it) => [...it.input, ...Array(T - it.input.length).fill(0)]);
    const targets = new Int32Array(B * T);
    for (const [b, it] of batch.entries()) targets.set(it.targets, b * T);
    const [lp, am] = tf.tidy(() => {
      const logits = model.forward(ids); // (B, T, V)
      const V = logits.shape[2];
      const logp = tf.reshape(tf.logSoftmax(logits, -1), [B * T, V]);
      const flat = Int32Array.from(targets, (t, n) => n * V + t);
      const picked = tf.gather(tf.reshape(logp, [B * T * V]), tf.tensor1d(flat, 'int32')); // (B·T)
      return [picked, tf.argMax(logp, 1)]; // (B·T), (B·T)
    });
    const [lpData, amData] = [await lp.data(), await am.data()];
    tf.dispose([lp, am]);
    batch.forEach((it, b) => {
      const L = it.input.length;
      let logprob = 0;
      let isGreedy = true;
      for (let j = L - it.n; j < L; j++) {
        logprob += lpData[b * T + j]!;
        if (amData[b * T + j] !== targets[b * T + j]) isGreedy = false;
      }
      results[it.index] = { logprob, isGreedy, numTokens: it.n };
    });
  }
  return results;
}
