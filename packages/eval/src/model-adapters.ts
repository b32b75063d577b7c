// The evaluators' model interfaces implemented by an @loralab/model LlamaForCausalLM and an @loralab/tokenizer
// Tokenizer: generation for learning tasks, and log-likelihoods (plain and rolling) for forgetting tasks,
// with lm-evaluation-harness's tokenization of context/continuation pairs.
import { generate, type LlamaForCausalLM, logLikelihood } from '@loralab/model';
import type { Tokenizer } from '@loralab/tokenizer';
import type {
  GenerationRequest,
  Generator,
  LogLikelihood,
  LogLikelihoodRequest,
  LogLikelihoodResult,
  RollingLogLikelihood,
} from './generator.js';

export interface ModelAdapterOptions {
  /** Prompts (generation) or sequences (log-likelihood) per forward batch. Default 8. */
  batchSize?: number;
  /** Longest input in tokens; longer contexts lose tokens from the left. Default the model's max_position_embeddings. */
  maxLength?: number;
  /** Add the tokenizer's BOS (post-processor tokens) to generation prompts. Default true. */
  addSpecialTokens?: boolean;
  /**
   * Token healing for generation (`Tokenizer.healPrompt`, transformers' `token_healing`): each prompt loses its last
   * token and the first new token must extend that token's text; the completion comes back without it. A byte-level
   * BPE model trained on code sees "\n" + four spaces as one token, so a prompt ending in "\n" otherwise ends on a
   * boundary it never saw. Default false, as lm-evaluation-harness.
   */
  tokenHealing?: boolean;
  /**
   * Log-likelihood requests whose tokens share a prefix of at least this many tokens (the choices of one
   * multiple-choice item) run it once and each remainder on its key/value cache (`logLikelihood` of
   * @loralab/model); scores agree with unshared scoring to float rounding. Default 16; 0 turns sharing off.
   */
  minSharedPrefix?: number;
}

/**
 * A Generator over `model`. Greedy requests with the same settings run batched (left-padded); sampled ones run
 * one at a time, each with its own seed, so a sample does not depend on what it was batched with.
 */
export function modelGenerator(
  model: LlamaForCausalLM,
  tokenizer: Tokenizer,
  options: ModelAdapterOptions = {},
): Generator {
  const batchSize = options.batchSize ?? 8;
  const decode = (ids: number[]) => tokenizer.decodeSync(ids);
  const stopTokens = tokenizer.eos ? [tokenizer.eos.id] : [];
  return {
    async generate(requests: readonly GenerationRequest[]): Promise<string[]> {
      const out: string[] = new Array(requests.length);
      const groups = new Map<string, number[]>();
      for (const [i, r] of requests.entries()) {
        const key =
          r.temperature === 0
            ? JSON.stringify([r.maxNewTokens, r.stop])
            : JSON.stringify([i, r.maxNewTokens, r.stop, r.temperature, r.topP, r.seed]);
        groups.set(key, [...(groups.get(key) ?? []), i]);
      }
      for (const indices of groups.values()) {
        for (let b = 0; b < indices.length; b += batchSize) {
          const batch = indices.slice(b, b + batchSize);
          const first = requests[batch[0]!]!;
          const prompts = await tokenizer.encodeBatch(
            batch.map((i) => requests[i]!.prompt),
            { addSpecialTokens: options.addSpecialTokens ?? true },
          );
          const healed = prompts.map((p) =>
            options.tokenHealing ? tokenizer.healPrompt(p.ids) : { ids: p.ids, tail: '', allowed: null },
          );
          const result = await generate(
            model,
            healed.map((h) => h.ids),
            {
              maxNewTokens: first.maxNewTokens,
              temperature: first.temperature,
              topP: first.topP,
              seed: first.seed,
              stopTokens,
              stopStrings: [...first.stop],
              decode,
              ...(tokenizer.pad && { padTokenId: tokenizer.pad.id }),
              ...(options.tokenHealing && { firstTokens: healed.map((h) => h.allowed) }),
            },
          );
          for (const [k, i] of batch.entries()) {
            // Text of the new tokens without a final stop token (the evaluators cut at stop strings themselves).
            const tokens = result.tokens[k]!;
            const kept = tokens.length && stopTokens.includes(tokens.at(-1)!) ? tokens.slice(0, -1) : tokens;
            const text = result.finishReasons[k] === 'stop_string' ? result.texts![k]! : decode(kept);
            out[i] = text.slice(healed[k]!.tail.length);
          }
        }
      }
      return out;
    },
  };
}

/**
 * lm-evaluation-harness's `_encode_pair`: trailing whitespace of the context moves to the continuation, the
 * pair is encoded whole, and the continuation's tokens are those after the context's own encoding.
 */
export async function encodeContextContinuation(
  tokenizer: Tokenizer,
  context: string,
  continuation: string,
): Promise<{ context: number[]; continuation: number[] }> {
  const spaces = context.length - context.trimEnd().length;
  if (spaces > 0) {
    continuation = context.slice(context.length - spaces) + continuation;
    context = context.slice(0, context.length - spaces);
  }
  const [whole, ctx] = await tokenizer.encodeBatch([context + continuation, context], {
    addSpecialTokens: false,
  });
  const contextIds = context.length ? ctx!.ids : [];
  return { context: contextIds, continuation: whole!.ids.slice(contextIds.length) };
}

/** LogLikelihood and RollingLogLikelihood over `model` (an empty context is replaced by BOS, as lm-eval does). */
export function modelLogLikelihood(
  model: LlamaForCausalLM,
  tokenizer: Tokenizer,
  options: ModelAdapterOptions = {},
): LogLikelihood & RollingLogLikelihood {
  const maxLength = options.maxLength ?? model.config.max_position_embeddings;
  const llOptions = {
    batchSize: options.batchSize ?? 8,
    maxLength,
    ...(options.minSharedPrefix !== undefined && { minSharedPrefix: options.minSharedPrefix }),
  };
  return {
    async logLikelihood(requests: readonly LogLikelihoodRequest[]): Promise<LogLikelihoodResult[]> {
      const encoded = await Promise.all(
        requests.map((r) => encodeContextContinuation(tokenizer, r.context, r.continuation)),
      );
      const results = await logLikelihood(model, encoded, llOptions);
      return results.map((r) => ({ logLikelihood: r.logprob, isGreedy: r.isGreedy }));
    },

    /**
     * lm-evaluation-harness's `loglikelihood_rolling`: the text's tokens in disjoint windows of `maxLength`, each
     * predicted with as much preceding text as fits (the first from BOS alone).
     */
    async rollingLogLikelihood(texts: readonly string[]) {
      const out: { logLikelihood: number; tokens: number }[] = [];
      for (const enc of await tokenizer.encodeBatch([...texts], { addSpecialTokens: false })) {
        const ids = enc.ids;
        const windows = [];
        for (let start = 0; start < ids.length; start += maxLength) {
          windows.push({
            context: ids.slice(Math.max(0, start - maxLength), start),
            continuation: ids.slice(start, start + maxLength),
          });
        }
        const results = await logLikelihood(model, windows, llOptions);
        out.push({ logLikelihood: results.reduce((a, r) => a + r.logprob, 0), tokens: ids.length });
      }
      return out;
    },
  };
}
