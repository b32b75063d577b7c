// Autoregressive decoding: batched prompts with left padding, a KV cache (or full recomputation), greedy or
// seeded sampling, stop tokens, stop strings and a new-token limit.
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from './errors.js';
import { KVCache } from './kv-cache.js';
import type { LlamaForCausalLM } from './llama-model.js';
import { createRng, type SamplingOptions, sampleToken, sampleTokens } from './sampling.js';

export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate per prompt. */
  maxNewTokens: number;
  /** Seed of the sampling generator (default 0). */
  seed?: number;
  /** Ids that end a sequence (kept in its output); default the config's `eos_token_id`. Pass [] for none. */
  stopTokens?: number[];
  /** Strings that end a sequence; needs `decode`. The output text is cut before the stop string. */
  stopStrings?: string[];
  /** Detokeniser, used for `stopStrings` and to fill `texts`. */
  decode?: (ids: number[]) => string;
  /** Id used for left padding (default pad, else eos, else 0); padded positions are masked out. */
  padTokenId?: number;
  /** Use the KV cache (default true); false recomputes the whole sequence at each step. */
  useCache?: boolean;
  /**
   * Per prompt, the ids the first new token must be one of (null: any), sampled among them alone: token healing
   * with `Tokenizer.healPrompt`, which drops a prompt's last token and names the tokens that extend it.
   */
  firstTokens?: readonly (readonly number[] | null)[];
}

export type FinishReason = 'stop_token' | 'stop_string' | 'length';

export interface GenerateResult {
  /** New tokens per prompt (a stop token is included; tokens after a stop string's end are dropped). */
  tokens: number[][];
  /** Decoded new tokens, cut before any stop string (only when `decode` is given). */
  texts?: string[];
  finishReasons: FinishReason[];
}

function leftPad(prompts: number[][], pad: number) {
  const L = Math.max(...prompts.map((p) => p.length));
  const ids = prompts.map((p) => [...Array(L - p.length).fill(pad), ...p]);
  const mask = prompts.map((p) => [...Array(L - p.length).fill(0), ...p.map(() => 1)]);
  return { ids, mask };
}

/** Last-position logits (B, V) on the host. */
async function lastLogits(model: LlamaForCausalLM, ids: number[][], mask: number[][], cache?: KVCache) {
  const logits = tf.tidy(() => {
    const last = model.forward(ids, {
      attentionMask: mask,
      lastPositionOnly: true,
      ...(cache ? { cache } : {}),
    }); // (B, 1, V)
    return tf.reshape(last, [last.shape[0], last.shape[2]]);
  });
  const data = (await logits.data()) as Float32Array;
  logits.dispose();
  return data;
}

/** Generates continuations of token-id prompts. Leaves no tensors behind. */
export async function generate(
  model: LlamaForCausalLM,
  prompts: number[][],
  options: GenerateOptions,
): Promise<GenerateResult> {
  const c = model.config;
  if (prompts.length === 0)
    return { tokens: [], finishReasons: [], ...(options.decode ? { texts: [] } : {}) };
  for (const [i, p] of prompts.entries()) {
    if (p.length === 0) throw new ShapeError(`prompt ${i} is empty`, 'generate', [null], [0]);
  }
  if (options.stopStrings?.length && !options.decode) {
    throw new ShapeError('stopStrings need options.decode to turn tokens into text', 'generate', [], []);
  }
  const first = options.firstTokens;
  if (first) {
    if (first.length !== prompts.length)
      throw new ShapeError(
        'firstTokens needs one entry per prompt',
        'generate',
        [prompts.length],
        [first.length],
      );
    for (const [i, allowed] of first.entries()) {
      if (
        allowed &&
        (allowed.length === 0 || allowed.some((t) => !Number.isInteger(t) || t < 0 || t >= c.vocab_size))
      )
        throw new ShapeError(
          `firstTokens[${i}] must be null or a non-empty list of ids in [0, ${c.vocab_size})`,
          'generate',
          [null],
          [allowed.length],
        );
    }
  }
  const eos = c.eos_token_id;
  const stopTokens = new Set(options.stopTokens ?? (eos === null ? [] : Array.isArray(eos) ? eos : [eos]));
  const pad = options.padTokenId ?? c.pad_token_id ?? (Array.isArray(eos) ? eos[0] : eos) ?? 0;
  const rng = createRng(options.seed ?? 0);
  const useCache = options.useCache ?? true;
  const B = prompts.length;
  const V = c.vocab_size;
  const { ids, mask } = leftPad(prompts, pad);
  const out: number[][] = prompts.map(() => []);
  const texts: string[] = prompts.map(() => '');
  const reasons: (FinishReason | null)[] = prompts.map(() => null);
  const capacity = ids[0]!.length + options.maxNewTokens;
  const cache = useCache ? new KVCache(c.num_hidden_layers, { capacity }) : undefined;
  try {
    // Rows still generating (prompt indices): a finished row leaves the batch and the cache at the next step.
    let active = prompts.map((_, b) => b);
    let stepIds = ids;
    for (let step = 0; step < options.maxNewTokens && active.length > 0; step++) {
      const rowsIds = useCache ? stepIds : active.map((b) => ids[b]!);
      const logits = await lastLogits(
        model,
        rowsIds,
        active.map((b) => mask[b]!),
        cache,
      );
      // Token healing constrains the first token per prompt: those rows are sampled one by one.
      const sampled = step === 0 && first ? null : sampleTokens(logits, V, options, rng);
      for (const [i, b] of active.entries()) {
        const row = logits.subarray(i * V, (i + 1) * V);
        const allowed = step === 0 ? first?.[b] : null;
        const tok = sampled
          ? sampled[i]!
          : allowed
            ? allowed[
                sampleToken(
                  Float32Array.from(allowed, (t) => row[t]!),
                  options,
                  rng,
                )
              ]!
            : sampleToken(row, options, rng);
        out[b]!.push(tok);
        ids[b]!.push(tok);
        mask[b]!.push(1);
        if (stopTokens.has(tok)) reasons[b] = 'stop_token';
        if (options.decode) {
          const text = options.decode(out[b]!);
          texts[b] = text;
          for (const s of options.stopStrings ?? []) {
            const at = text.indexOf(s);
            if (at >= 0) {
              reasons[b] = 'stop_string';
              texts[b] = text.slice(0, at);
              break;
            }
          }
        }
        if (reasons[b] === null && out[b]!.length >= options.maxNewTokens) reasons[b] = 'length';
      }
      const keep = active.flatMap((b, i) => (reasons[b] === null ? [i] : []));
      if (keep.length > 0 && keep.length < active.length) cache?.select(keep);
      active = keep.map((i) => active[i]!);
      stepIds = active.map((b) => [ids[b]!.at(-1)!]);
    }
  } finally {
    cache?.dispose();
  }
  // Drop tokens after the one that completed a stop string.
  if (options.decode && options.stopStrings?.length) {
    for (let b = 0; b < B; b++) {
      if (reasons[b] !== 'stop_string') continue;
      const toks = out[b]!;
      let n = 1;
      while (
        n < toks.length &&
        !options.stopStrings.some((s) => options.decode!(toks.slice(0, n)).includes(s))
      )
        n++;
      out[b] = toks.slice(0, n);
    }
  }
  const finishReasons = reasons.map((r) => r ?? 'length');
  return { tokens: out, finishReasons, ...(options.decode ? { texts } : {}) };
}
