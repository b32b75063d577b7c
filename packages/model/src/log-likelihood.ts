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
    // Right padding: causal attention means padding after a sequence never affects its positions.
    const ids = batch.map((it) => [...it.input, ...Array(T - it.input.length).fill(0)]);
    // Only the continuation's positions are scored: logits (R, V) at those rows, R = Σ continuation lengths.
    const at: number[] = [];
    const targets: number[] = [];
    for (const [b, it] of batch.entries()) {
      const L = it.input.length;
      for (let j = L - it.n; j < L; j++) {
        at.push(b * T + j);
        targets.push(it.targets[j]!);
      }
    }
    const R = at.length;
    const [lp, am] = tf.tidy(() => {
      const logits = model.logitsAt(ids, at); // (R, V)
      const V = logits.shape[1];
      const logp = tf.logSoftmax(logits, -1);
      const flat = Int32Array.from(targets, (t, r) => r * V + t);
      const picked = tf.gather(tf.reshape(logp, [R * V]), tf.tensor1d(flat, 'int32')); // (R)
      return [picked, tf.argMax(logp, 1)]; // (R), (R)
    });
    const [lpData, amData] = [await lp.data(), await am.data()];
    tf.dispose([lp, am]);
    let r = 0;
    for (const it of batch) {
      let logprob = 0;
      let isGreedy = true;
      for (let j = 0; j < it.n; j++, r++) {
        logprob += lpData[r]!;
        if (amData[r] !== targets[r]) isGreedy = false;
      }
      results[it.index] = { logprob, isGreedy, numTokens: it.n };
    }
  }
  return results;
}
