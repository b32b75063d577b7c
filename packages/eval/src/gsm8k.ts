// GSM8K exactly as lm-evaluation-harness's `gsm8k` task (lm_eval/tasks/gsm8k/gsm8k.yaml, version 3):
// "Question: ...\nAnswer:" prompts with k-shot exemplars drawn from the train split by Random(1234).sample,
// strict-match and flexible-extract regex filters, and exact_match with its regexes_to_ignore.
import { DataError } from './errors.js';
import type { Generator } from './generator.js';
import { isRecord } from './jsonl.js';
import { PythonRandom } from './python-random.js';
import { readRows } from './rows.js';
import { GSM8K_STOP_STRINGS, truncateAtStop } from './stop-strings.js';

/** One GSM8K problem (openai/grade-school-math JSONL). */
export interface Gsm8kDoc {
  question: string;
  /** Worked solution ending in a line "#### <number>". */
  answer: string;
}

/** Loads GSM8K (`question`, `answer`), JSONL or a Hugging Face Arrow folder. */
export function loadGsm8k(file: string): Gsm8kDoc[] {
  return readRows(file).map(({ value, line }) => {
    if (!isRecord(value) || typeof value.question !== 'string' || typeof value.answer !== 'string') {
      throw new DataError('expected {"question": string, "answer": string} (GSM8K schema)', { file, line });
    }
    return { question: value.question, answer: value.answer };
  });
}

/** `doc_to_text`: "Question: {question}\nAnswer:". */
export function gsm8kDocToText(doc: Gsm8kDoc): string {
  return `Question: ${doc.question}\nAnswer:`;
}

export interface Gsm8kPromptOptions {
  /** Exemplars per prompt (`num_fewshot`). Default 5. */
  numFewshot?: number;
  /** Seed of the exemplar sampler (lm-eval's `fewshot_random_seed`). Default 1234. */
  seed?: number;
}

/**
 * The k-shot prompt of every test doc, in order. As lm-eval: one Random(seed); for each test doc in turn,
 * rnd.sample(train, k); exemplars "Question: q\nAnswer: a" joined by "\n\n", then "\n\n" and the doc's text.
 */
export function buildGsm8kPrompts(
  test: readonly Gsm8kDoc[],
  train: readonly Gsm8kDoc[],
  options: Gsm8kPromptOptions = {},
): string[] {
  const k = options.numFewshot ?? 5;
  const rnd = new PythonRandom(options.seed ?? 1234);
  return test.map((doc) => {
    if (k === 0) return gsm8kDocToText(doc);
    const shots = rnd.sample(train, k).map((ex) => `${gsm8kDocToText(ex)} ${ex.answer}`);
    return `${shots.join('\n\n')}\n\n${gsm8kDocToText(doc)}`;
  });
}

/** The value lm-eval's regex filter returns when nothing matches. */
export const INVALID_ANSWER = '[invalid]';

/** strict-match: `#### (\-?[0-9\.\,]+)`, first match. */
export function extractStrict(response: string): string {
  const m = /#### (-?[0-9.,]+)/.exec(response);
  return m ? m[1]!.trim() : INVALID_ANSWER;
}

/** flexible-extract: `(-?[$0-9.,]{2,})|(-?[0-9]+)`, last match, first non-empty group. */
export function extractFlexible(response: string): string {
  let last: RegExpExecArray | undefined;
  for (const m of response.matchAll(/(-?[$0-9.,]{2,})|(-?[0-9]+)/g)) last = m;
  if (!last) return INVALID_ANSWER;
  return (last[1] || last[2] || '').trim();
}

/**
 * exact_match's normalisation with gsm8k's settings: remove ",", "$", everything up to the last "#### ",
 * a final "." (Python's `$` also matches before a trailing newline), then lower-case.
 */
export function normalizeGsm8kAnswer(text: string): string {
  return text
    .replace(/,/g, '')
    .replace(/\$/g, '')
    .replace(/[\s\S]*#### /g, '')
    .replace(/\.(?=\n?$)/, '')
    .toLowerCase();
}

/** exact_match of one prediction against the reference answer (the full `answer` field). */
export function gsm8kExactMatch(prediction: string, reference: string): boolean {
  return normalizeGsm8kAnswer(prediction) === normalizeGsm8kAnswer(reference);
}

/** One scored response. */
export interface Gsm8kItem {
  /** The response after stop-string truncation. */
  response: string;
  strict: string;
  flexible: string;
  strictCorrect: boolean;
  flexibleCorrect: boolean;
}

export interface Gsm8kScore {
  /** exact_match under strict-match (the paper's GSM8K metric). */
  strictMatch: number;
  /** exact_match under flexible-extract. */
  flexibleExtract: number;
  items: Gsm8kItem[];
}

/** Scores responses (one per doc, in order): both filters, exact match, means. */
export function scoreGsm8k(docs: readonly Gsm8kDoc[], responses: readonly string[]): Gsm8kScore {
  if (docs.length !== responses.length) {
    throw new DataError(`expected one response per doc (${docs.length}), found ${responses.length}`);
  }
  const items = docs.map((doc, i) => {
    const response = truncateAtStop(responses[i]!, GSM8K_STOP_STRINGS);
    const strict = extractStrict(response);
    const flexible = extractFlexible(response);
    return {
      response,
      strict,
      flexible,
      strictCorrect: gsm8kExactMatch(strict, doc.answer),
      flexibleCorrect: gsm8kExactMatch(flexible, doc.answer),
    };
  });
  const mean = (f: (x: Gsm8kItem) => boolean) => (items.length ? items.filter(f).length / items.length : 0);
  return {
    strictMatch: mean((x) => x.strictCorrect),
    flexibleExtract: mean((x) => x.flexibleCorrect),
    items,
  };
}

export interface EvaluateGsm8kOptions extends Gsm8kPromptOptions {
  /** Most new tokens per answer. Default 256 (lm-eval's default max_gen_toks). */
  maxNewTokens?: number;
  /** Requests per generate() call. Default 32. */
  batchSize?: number;
}

/** The whole task with a model: k-shot prompts, greedy generation until the stop strings, scoring. */
export async function evaluateGsm8k(
  test: readonly Gsm8kDoc[],
  train: readonly Gsm8kDoc[],
  generator: Generator,
  options: EvaluateGsm8kOptions = {},
): Promise<Gsm8kScore & { prompts: string[] }> {
  const prompts = buildGsm8kPrompts(test, train, options);
  const batchSize = options.batchSize ?? 32;
  const responses: string[] = [];
  for (let i = 0; i < prompts.length; i += batchSize) {
    const batch = prompts.slice(i, i + batchSize).map((prompt, j) => ({
      prompt,
      stop: GSM8K_STOP_STRINGS,
      maxNewTokens: options.maxNewTokens ?? 256,
      temperature: 0,
      topP: 1,
      seed: i + j,
    }));
    const out = await generator.generate(batch);
    if (out.length !== batch.length) {
      throw new DataError(`the generator returned ${out.length} texts for ${batch.length} requests`);
    }
    responses.push(...out);
  }
  return { ...scoreGsm8k(test, responses), prompts };
}
