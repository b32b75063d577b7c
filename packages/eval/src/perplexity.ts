// Perplexity and bits per byte of held-out text, as lm-evaluation-harness's perplexity tasks (wikitext):
// from each document's total log-likelihood L (natural log, `loglikelihood_rolling`) and its counts,
//   word_perplexity = exp(-sum L / sum words), byte_perplexity = exp(-sum L / sum bytes),
//   bits_per_byte = -sum L / sum bytes / ln 2   (comparable across tokenizers),
// with words = len(re.split(r"\s+", text)) and bytes = len(text.encode("utf-8")); token perplexity is
// exp(-sum L / sum tokens) with the model's own token counts.
import { DataError } from './errors.js';
import type { RollingLogLikelihood } from './generator.js';
import { pythonWhitespaceSplitCount } from './python-str.js';

export interface PerplexityScore {
  /** Sum of the documents' log-likelihoods (nats). */
  logLikelihood: number;
  tokens: number;
  words: number;
  bytes: number;
  tokenPerplexity: number;
  wordPerplexity: number;
  bytePerplexity: number;
  bitsPerByte: number;
}

/** Aggregates per-document log-likelihoods and token counts (same order as `texts`). */
export function scorePerplexity(
  texts: readonly string[],
  results: readonly { logLikelihood: number; tokens: number }[],
): PerplexityScore {
  if (texts.length !== results.length) {
    throw new DataError(`expected one log-likelihood per text (${texts.length}), found ${results.length}`);
  }
  if (texts.length === 0) throw new DataError('perplexity needs at least one text');
  let logLikelihood = 0;
  let tokens = 0;
  let words = 0;
  let bytes = 0;
  texts.forEach((text, i) => {
    logLikelihood += results[i]!.logLikelihood;
    tokens += results[i]!.tokens;
    words += pythonWhitespaceSplitCount(text);
    bytes += Buffer.byteLength(text, 'utf8');
  });
  return {
    logLikelihood,
    tokens,
    words,
    bytes,
    tokenPerplexity: Math.exp(-logLikelihood / tokens),
    wordPerplexity: Math.exp(-logLikelihood / words),
    bytePerplexity: Math.exp(-logLikelihood / bytes),
    bitsPerByte: -logLikelihood / bytes / Math.LN2,
  };
}

/** Asks the model for every text's log-likelihood (in batches) and aggregates. */
export async function evaluatePerplexity(
  texts: readonly string[],
  model: RollingLogLikelihood,
  options: { batchSize?: number } = {},
): Promise<PerplexityScore> {
  const batchSize = options.batchSize ?? 16;
  const results: { logLikelihood: number; tokens: number }[] = [];
  for (let i = 0; i < texts.length; i += batchSize) {
    const batch = texts.slice(i, i + batchSize);
    const out = await model.rollingLogLikelihood(batch);
    if (out.length !== batch.length) {
      throw new DataError(`the model returned ${out.length} results for ${batch.length} texts`);
    }
    results.push(...out);
  }
  return scorePerplexity(texts, results);
}
