// In-context copying (induction heads, Olsson et al. 2022, "In-context learning and induction heads"): a model that
// can copy predicts the second occurrence of a span far better than the first. A small base trained on few tokens
// may not have it at all, whatever its perplexity; then a code solution that restates the numbers its prompt names
// must learn that narrow copy in finetuning. Measured as the loss drop from the first to the second copy of a span,
// on held-out source text (in distribution) and on uniformly random token ids (no prior can predict those).
import { createRng, IGNORE_INDEX, type LlamaForCausalLM } from '@loralab/model';
import type { Tokenizer } from '@loralab/tokenizer';

/** Tokens per span in the experiment's evaluation (`source_copy_gain`, `random_copy_gain`). */
export const COPY_SPAN_TOKENS = 48;

/** Mean next-token losses (nats) on the first and the repeated copy of each span, and their difference. */
export interface CopyLoss {
  first: number;
  repeat: number;
  /** `first - repeat`: about 0 without in-context copying, several nats with it. */
  gain: number;
  spans: number;
}

/**
 * Losses of `spans` (each a row of token ids, all of one length ≥ 2) written twice in a row, `span + span`: the
 * first copy is scored from its second token (the first has no context), the repeat likewise from its second token
 * (its first token follows the end of the first copy, so it is no easier than any first-copy token).
 */
export function copyLoss(model: LlamaForCausalLM, spans: readonly number[][]): CopyLoss {
  const n = spans[0]?.length ?? 0;
  if (spans.length === 0 || n < 2 || spans.some((s) => s.length !== n)) {
    throw new RangeError(
      `copyLoss needs one or more spans of one length >= 2, found lengths [${spans.map((s) => s.length)}]`,
    );
  }
  const ids = spans.map((s) => [...s, ...s]);
  const score = (from: number) =>
    ids.map((row) => row.map((t, j) => (j >= from + 1 && j < from + n ? t : IGNORE_INDEX)));
  const mean = (labels: number[][]) => {
    const { loss, numTokens } = model.loss(ids, labels);
    try {
      return loss.dataSync()[0]! / numTokens;
    } finally {
      loss.dispose();
    }
  };
  const first = mean(score(0));
  const repeat = mean(score(n));
  return { first, repeat, gain: first - repeat, spans: spans.length };
}

/** Spans of `length` tokens from the start of each text that has that many (texts encoded without special tokens). */
export async function textSpans(
  tokenizer: Tokenizer,
  texts: readonly string[],
  length: number,
): Promise<number[][]> {
  const enc = await tokenizer.encodeBatch([...texts], { addSpecialTokens: false });
  return enc.map((e) => e.ids.slice(0, length)).filter((ids) => ids.length === length);
}

/** `count` spans of `length` ids drawn uniformly from the ordinary (non-special) vocabulary, from a fixed seed. */
export function randomSpans(tokenizer: Tokenizer, count: number, length: number, seed = 0): number[][] {
  const special = new Set([...tokenizer.specialTokens.values()].map((t) => t.id));
  const ordinary: number[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) if (!special.has(id)) ordinary.push(id);
  const next = createRng((seed ^ 0x9e3779b9) >>> 0);
  return Array.from({ length: count }, () =>
    Array.from({ length }, () => ordinary[Math.floor(next() * ordinary.length)]!),
  );
}
