// Multiple choice by log-likelihood, as lm-evaluation-harness's `multiple_choice` output type: one
// loglikelihood request per choice; acc = [argmax_i ll_i == gold]; acc_norm = [argmax_i ll_i / len(choice_i)
// == gold] with len in characters of doc_to_choice's strings (lm_eval/api/task.py process_results).
import { DataError } from './errors.js';
import type { LogLikelihood, LogLikelihoodRequest } from './generator.js';
import { pythonLength } from './python-str.js';

/** One question, ready to score. */
export interface MultipleChoiceItem {
  /** One loglikelihood request per choice, in choice order. */
  requests: LogLikelihoodRequest[];
  /** lm-eval's doc_to_choice strings; their lengths (characters) normalise acc_norm. */
  choices: string[];
  /** Index of the correct choice. */
  gold: number;
}

/** A question with one context and alternative continuations (HellaSwag, ARC): context + " " + choice. */
export function choiceItem(
  context: string,
  choices: string[],
  gold: number,
  targetDelimiter = ' ',
): MultipleChoiceItem {
  checkGold(gold, choices.length);
  return {
    requests: choices.map((c) => ({ context, continuation: `${targetDelimiter}${c}` })),
    choices,
    gold,
  };
}

/** Partial scoring (WinoGrande): alternative contexts, one shared continuation; choices are the contexts. */
export function partialItem(
  contexts: string[],
  target: string,
  gold: number,
  targetDelimiter = ' ',
): MultipleChoiceItem {
  checkGold(gold, contexts.length);
  return {
    requests: contexts.map((context) => ({ context, continuation: `${targetDelimiter}${target}` })),
    choices: contexts,
    gold,
  };
}

function checkGold(gold: number, n: number): void {
  if (!Number.isInteger(gold) || gold < 0 || gold >= n) {
    throw new DataError(`gold index must be in 0..${n - 1}, found ${gold}`);
  }
}

/** numpy's argmax: the first index of the largest value (NaN wins, as in numpy). */
function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i]!)) return i;
    if (values[i]! > values[best]!) best = i;
  }
  return best;
}

export interface MultipleChoiceItemScore {
  pred: number;
  predNorm: number;
  acc: number;
  accNorm: number;
}

export interface MultipleChoiceScore {
  /** Mean acc over items. */
  acc: number;
  /** Mean acc_norm over items. */
  accNorm: number;
  items: MultipleChoiceItemScore[];
}

/** Scores items from their per-choice log-likelihoods (`logLikelihoods[i][j]` for item i, choice j). */
export function scoreMultipleChoice(
  items: readonly MultipleChoiceItem[],
  logLikelihoods: readonly (readonly number[])[],
): MultipleChoiceScore {
  if (items.length !== logLikelihoods.length) {
    throw new DataError(`expected log-likelihoods for ${items.length} items, found ${logLikelihoods.length}`);
  }
  const scored = items.map((item, i) => {
    const lls = logLikelihoods[i]!;
    if (lls.length !== item.requests.length) {
      throw new DataError(`item ${i}: expected ${item.requests.length} log-likelihoods, found ${lls.length}`);
    }
    const pred = argmax(lls);
    const predNorm = argmax(lls.map((ll, j) => ll / pythonLength(item.choices[j]!)));
    return { pred, predNorm, acc: pred === item.gold ? 1 : 0, accNorm: predNorm === item.gold ? 1 : 0 };
  });
  const mean = (f: (s: MultipleChoiceItemScore) => number) =>
    scored.length ? scored.reduce((a, s) => a + f(s), 0) / scored.length : 0;
  return { acc: mean((s) => s.acc), accNorm: mean((s) => s.accNorm), items: scored };
}

/** Asks the model for every request (in batches of `batchSize`) and scores; batch size does not change scores. */
export async function evaluateMultipleChoice(
  items: readonly MultipleChoiceItem[],
  model: LogLikelihood,
  options: { batchSize?: number } = {},
): Promise<MultipleChoiceScore> {
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new DataError(`batchSize must be >= 1, found ${batchSize}`);
  const flat = items.flatMap((item) => item.requests);
  const lls: number[] = [];
  for (let i = 0; i < flat.length; i += batchSize) {
    const batch = flat.slice(i, i + batchSize);
    const out = await model.logLikelihood(batch);
    if (out.length !== batch.length) {
      throw new DataError(`the model returned ${out.length} log-likelihoods for ${batch.length} requests`);
    }
    lls.push(...out.map((r) => r.logLikelihood));
  }
  let at = 0;
  const perItem = items.map((item) => {
    const slice = lls.slice(at, at + item.requests.length);
    at += item.requests.length;
    return slice;
  });
  return scoreMultipleChoice(items, perItem);
}
