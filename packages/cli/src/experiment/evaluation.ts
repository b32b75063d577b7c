// Phase 4: learning and forgetting measured on one model (Biderman et al. 2024, §3.2-3.3 and Figure 5):
// target = the condition's held-out math (loss of the answer, GSM8K strict exact match) or code (loss of the
// solution, pass@1), prompted as the condition's training data was (chat for IFT, plain text for CPT);
// source = held-out source-domain bits per byte and a multiple-choice task built from it; diversity = unique
// samples among N generations per prompt at a low temperature.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@loralab/data';
import {
  buildClozeChoiceItems,
  buildContinuationChoiceItems,
  buildWordOrderChoiceItems,
  type CodeProblem,
  describeIsolation,
  DataError as EvalDataError,
  encodeContextContinuation,
  evaluateCodeSamples,
  evaluateMultipleChoice,
  extractFlexible,
  GSM8K_STOP_STRINGS,
  HUMANEVAL_STOP_STRINGS,
  type MultipleChoiceItem,
  modelLogLikelihood,
  normalizeCompletion,
  passAtK,
  scoreGsm8k,
  scorePerplexity,
  truncateAtStop,
} from '@loralab/eval';
import {
  type GenerateOptions,
  generate,
  type LlamaForCausalLM,
  type LoglikelihoodRequest,
  logLikelihood,
  releaseBackendCaches,
} from '@loralab/model';
import { encodeChatBatch, type Tokenizer } from '@loralab/tokenizer';
import type { ChoiceTask, Domain, ExperimentConfig, Task } from './config.js';
import { COPY_SPAN_TOKENS, copyLoss, randomSpans, textSpans } from './copy-diagnostic.js';
import { ExperimentError } from './errors.js';
import type { Condition } from './plan.js';
import { type CodeRecord, chatTemplateFor, type HeldOut, type MathRecord } from './prepare-data.js';
import type { ItemValues, Metrics } from './results.js';

/** The held-out items every model is scored on: the same items, in the same order, for every arm. */
export interface EvalSets {
  /** Held-out source documents, cut to `eval.sourceDocChars` at a word boundary. */
  sourceDocs: string[];
  /** Multiple-choice tasks on held-out source passages (`eval.choiceTasks`), the same number of items each. */
  choiceTasks: { task: ChoiceTask; items: MultipleChoiceItem[] }[];
  math: {
    /** Scored by answer loss (`target_loss`). */
    loss: MathRecord[];
    /** Scored by greedy generation and exact match (`target_score`). */
    em: MathRecord[];
    /** Prompts of the diversity metric. */
    diversity: MathRecord[];
    /** Validation (learning-rate choice): disjoint from the items above. */
    validation: MathRecord[];
  };
  code: {
    /** Scored by solution loss (`target_loss`). */
    loss: CodeRecord[];
    /** Scored by pass@1 (`target_score`) and diversity. */
    tasks: CodeRecord[];
    /** Validation (learning-rate choice): disjoint from the items above. */
    validation: CodeRecord[];
  };
}

function cutAtWord(text: string, chars: number): string {
  if (text.length <= chars) return text;
  const at = text.lastIndexOf(' ', chars);
  return text.slice(0, at > chars / 2 ? at : chars);
}

/**
 * Splits a held-out list into test items (from the start) and validation items (the last `validation`, fewer only
 * when the list is that short: at least one test item is kept).
 */
function splitHeldOut<T>(items: readonly T[], validation: number): { test: T[]; validation: T[] } {
  const v = Math.max(0, Math.min(validation, items.length - 1));
  return { test: items.slice(0, items.length - v), validation: items.slice(items.length - v) };
}

/** Chooses the evaluation items from the held-out parts of each domain (disjoint source docs for ppl and MC). */
export function buildEvalSets(config: ExperimentConfig, domains: HeldOut): EvalSets {
  const e = config.eval;
  const docs = domains.sourceTest.map((t) => t.replace(/\s+/g, ' ').trim()).filter((t) => t.length > 0);
  const sourceDocs = docs.slice(0, e.sourceDocs).map((t) => cutAtWord(t, e.sourceDocChars));
  let choiceTasks: EvalSets['choiceTasks'] = [];
  if (e.choiceItems > 0 && e.choiceTasks.length > 0) {
    // Several passages per held-out document (every 400 characters), so a small held-out set yields enough items.
    const passages: string[] = [];
    for (const d of [...docs.slice(e.sourceDocs), ...docs.slice(0, e.sourceDocs)]) {
      for (let at = 0; at + 400 <= d.length && passages.length < 4 * e.choiceItems; at += 400)
        passages.push(d.slice(at, at + 400));
    }
    // Whole-sentence choices stay well inside a small model's context (a word is 1-3 tokens).
    const maxWords = Math.max(6, Math.min(30, Math.floor(config.model.max_position_embeddings / 4)));
    const options = { numChoices: e.choices, contextChars: 200, seed: config.seed + 1234, maxWords };
    const build = (task: ChoiceTask): MultipleChoiceItem[] => {
      if (task === 'continuation')
        return buildContinuationChoiceItems(passages, { ...options, continuationChars: 80 });
      try {
        return (task === 'cloze' ? buildClozeChoiceItems : buildWordOrderChoiceItems)(passages, options);
      } catch (err) {
        // Held-out text too short for the task's word pool: no items (the count check below names the task).
        if (err instanceof EvalDataError) return [];
        throw err;
      }
    };
    const built = e.choiceTasks.map((task) => ({ task, items: build(task) }));
    // Every task keeps the same number of items, so the average over items is the average over tasks.
    const n = Math.min(e.choiceItems, ...built.map((t) => t.items.length));
    if (n === 0) {
      const empty = built.filter((t) => t.items.length === 0).map((t) => t.task);
      throw new ExperimentError(
        'eval',
        `the held-out source text yields no ${empty.join(', ')} multiple-choice items; give more eval.sourceDocs or drop the task from eval.choiceTasks`,
      );
    }
    choiceTasks = built.map((t) => ({ task: t.task, items: t.items.slice(0, n) }));
  }
  const math = splitHeldOut(domains.mathTest, e.validationItems);
  const code = splitHeldOut(domains.codeTest, e.validationItems);
  return {
    sourceDocs,
    choiceTasks,
    math: {
      loss: math.test.slice(0, e.targetLossItems),
      em: math.test.slice(0, e.mathProblems),
      diversity: math.test.slice(0, e.diversityPrompts),
      validation: math.validation,
    },
    code: {
      loss: code.test.slice(0, e.targetLossItems),
      tasks: code.test.slice(0, e.codeTasks),
      validation: code.validation,
    },
  };
}

/** What to measure on one condition: `full` adds generation (exact match, pass@1, diversity), MC and validation. */
/**
 * Seconds of an evaluation by kind of work: log-likelihoods of losses and perplexity (`losses`), multiple-choice
 * scoring (`choices`), sampling and greedy decoding (`generate`) and running generated programs (`execute`).
 */
export interface EvalPhaseSeconds {
  losses: number;
  choices: number;
  generate: number;
  execute: number;
}

export const noEvalPhases = (): EvalPhaseSeconds => ({ losses: 0, choices: 0, generate: 0, execute: 0 });

/** a + b, phase by phase (b may be absent: results written before phases were timed). */
export function addEvalPhases(a: EvalPhaseSeconds, b?: EvalPhaseSeconds): EvalPhaseSeconds {
  return {
    losses: a.losses + (b?.losses ?? 0),
    choices: a.choices + (b?.choices ?? 0),
    generate: a.generate + (b?.generate ?? 0),
    execute: a.execute + (b?.execute ?? 0),
  };
}

export interface EvaluateOptions {
  /** The condition whose target is scored; null = the source domain only. */
  condition: Condition | null;
  full: boolean;
  /** Seed of sampled generations. */
  seed: number;
  /** Keep per-item values of the cheap metrics too (every evaluation point, for the frontier's item noise). */
  cheapItems?: boolean;
  /** Score the validation items (`val_loss`, the lr choice) without the rest of the full evaluation. */
  validation?: boolean;
}

/** A math prompt's text: the question itself (IFT: the user turn's content) or plain `Question: ...` (CPT). */
const mathPrompt = (task: Task, question: string) =>
  task === 'cpt' ? `Question: ${question}\nAnswer: ` : question;

/**
 * Token ids of prompts, encoded as the condition's training data was: an IFT prompt as the user turn of a chat
 * followed by the generation prompt (`encodeChatBatch`: the template's control tokens as such, the content as
 * text, exactly the prefix training saw), a CPT prompt (a HumanEval prompt, `Question: ...`) as plain text.
 */
export async function promptIds(
  tokenizer: Tokenizer,
  task: Task,
  texts: string[],
  chatTemplate: string,
): Promise<number[][]> {
  if (task === 'cpt')
    return (await tokenizer.encodeBatch(texts, { addSpecialTokens: false })).map((e) => e.ids);
  const chats = texts.map((content) => [{ role: 'user' as const, content }]);
  return (await encodeChatBatch(tokenizer, chats, { addGenerationPrompt: true, chatTemplate })).map(
    (e) => e.ids,
  );
}

function stopIds(tokenizer: Tokenizer): number[] {
  const ids = [tokenizer.tokenToId('<|im_end|>'), tokenizer.eos?.id ?? null];
  return ids.filter((x): x is number => x !== null);
}

/** Generation prompts, token-healed (`Tokenizer.healPrompt`), and the text each generation starts with. */
interface Prompts {
  ids: number[][];
  firstTokens: (number[] | null)[];
  tails: string[];
}

/**
 * Encodes generation prompts, healed: a byte-level BPE merges a prompt's final "\n" with the indentation of a code
 * body, and the space of "Answer: " with the number, so the unhealed prompt ends on a boundary training never had.
 */
async function healPrompts(
  tokenizer: Tokenizer,
  task: Task,
  texts: string[],
  chatTemplate: string,
): Promise<Prompts> {
  const healed = (await promptIds(tokenizer, task, texts, chatTemplate)).map((p) => tokenizer.healPrompt(p));
  return {
    ids: healed.map((h) => h.ids),
    firstTokens: healed.map((h) => h.allowed),
    tails: healed.map((h) => h.tail),
  };
}

/** Prompts `a` to `b` (exclusive). */
const slicePrompts = (p: Prompts, a: number, b: number): Prompts => ({
  ids: p.ids.slice(a, b),
  firstTokens: p.firstTokens.slice(a, b),
  tails: p.tails.slice(a, b),
});

/** `generate` on healed prompts, `count` rows per prompt; the texts without the healed tails. */
async function generateHealed(
  model: LlamaForCausalLM,
  prompts: Prompts,
  count: number,
  options: GenerateOptions,
): Promise<string[]> {
  const rows = prompts.ids.flatMap((p) => Array<number[]>(count).fill(p));
  const first = prompts.firstTokens.flatMap((f) => Array<number[] | null>(count).fill(f));
  const { texts } = await generate(model, rows, { ...options, firstTokens: first });
  return texts!.map((t, i) => t.slice(prompts.tails[Math.floor(i / count)]!.length));
}

/**
 * `n` sampled continuations of every prompt, generated as one left-padded batch per group of prompts (a decoding
 * step costs about the same for 1 or 64 rows at this size); returns them grouped by prompt.
 */
async function sampleEach(
  model: LlamaForCausalLM,
  prompts: Prompts,
  n: number,
  options: GenerateOptions,
): Promise<string[][]> {
  const out: string[] = [];
  // 64 rows per batch: whole prompts of n rows each.
  const per = Math.max(1, Math.floor(64 / n));
  for (let j = 0; j < prompts.ids.length; j += per) {
    const part = slicePrompts(prompts, j, j + per);
    out.push(...(await generateHealed(model, part, n, { ...options, seed: (options.seed ?? 0) + j * n })));
  }
  return prompts.ids.map((_, j) => out.slice(j * n, (j + 1) * n));
}

/** Mean of a list (0 for an empty one). */
export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

/** Per-item mean next-token loss (nats) of each answer given its prompt. */
async function conditionalLoss(
  model: LlamaForCausalLM,
  tokenizer: Tokenizer,
  pairs: LossPairs,
): Promise<number[]> {
  if (pairs.items.length === 0) return [];
  const maxLength = model.config.max_position_embeddings;
  const requests = await lossRequests(tokenizer, pairs);
  // A continuation longer than half the context keeps its first half-context tokens (never at the default sizes).
  for (const r of requests) r.continuation = r.continuation.slice(0, Math.floor(maxLength / 2));
  const out = await logLikelihood(model, requests, { batchSize: 16, maxLength });
  return out.map((r) => -r.logprob / r.numTokens);
}

/** (prompt, answer) pairs of a condition's target loss, and how its training data was encoded. */
export interface LossPairs {
  task: Task;
  chatTemplate: string;
  items: { prompt: string; answer: string }[];
}

/**
 * The scored tokens of each pair as training scored them: for IFT the assistant turn of the chat (its content and
 * end-of-turn token: the loss mask of training) after the rest of the conversation; for CPT the answer's tokens
 * after the plain-text prompt.
 */
export async function lossRequests(tokenizer: Tokenizer, pairs: LossPairs): Promise<LoglikelihoodRequest[]> {
  if (pairs.task === 'cpt') {
    return Promise.all(pairs.items.map((p) => encodeContextContinuation(tokenizer, p.prompt, p.answer)));
  }
  const chats = pairs.items.map((p) => [
    { role: 'user' as const, content: p.prompt },
    { role: 'assistant' as const, content: p.answer },
  ]);
  const encoded = await encodeChatBatch(tokenizer, chats, { chatTemplate: pairs.chatTemplate });
  return encoded.map((e) => {
    const { start, end } = e.assistantSpans[0]!;
    return { context: e.ids.slice(0, start), continuation: e.ids.slice(start, end) };
  });
}

/** The (prompt, answer) pairs of a condition's target loss on `records`. */
function targetPairs(
  condition: Condition,
  sets: EvalSets,
  which: 'loss' | 'validation',
  chat: string,
): LossPairs {
  const [task, domain] = condition.split('-') as [Task, Domain];
  const items =
    domain === 'math'
      ? sets.math[which].map((r) => ({ prompt: mathPrompt(task, r.question), answer: r.answer }))
      : sets.code[which].map((r) => ({ prompt: r.prompt, answer: r.canonical_solution }));
  return { task, chatTemplate: chat, items };
}

/**
 * One generated response of a full evaluation, as lm-evaluation-harness's `--log_samples` keeps them: which metric
 * it fed, the item's index in its set, the response after stop-string truncation, and how it scored.
 */
export interface EvalSample {
  metric: 'exact_match' | 'pass@1' | 'diversity';
  item: number;
  /** Code: the HumanEval task id. */
  task_id?: string;
  response: string;
  /** Math: the reference answer. */
  target?: string;
  /** Math: the answer extracted from the response (strict for exact match, flexible for diversity). */
  extracted?: string;
  /** Exact match or pass (absent for diversity samples of math, which are not scored). */
  correct?: boolean;
}

/**
 * Writes the generated responses of a full evaluation to `samples/<name>.jsonl` (one JSON object per line, see
 * `EvalSample`), as lm-evaluation-harness's `--log_samples`: what a score of 0 is made of stays readable.
 */
export function writeSamples(runDir: string, name: string, samples: readonly EvalSample[]): void {
  if (samples.length === 0) return;
  mkdirSync(join(runDir, 'samples'), { recursive: true });
  writeFileAtomic(
    join(runDir, 'samples', `${name}.jsonl`),
    samples.map((s) => `${JSON.stringify(s)}\n`).join(''),
  );
}

/**
 * Scores `model` (an adapter, if any, applied). Metric keys (see results.ts): source `source_loss`, `source_bpb`,
 * `source_ppl` (always), `source_mc_acc`, `source_mc_acc_norm` (full); with a condition `target_loss` (always) and,
 * when `full`, `val_loss`, `target_score` (math exact match or code pass@1), `diversity` (unique whole samples) and
 * `answer_diversity` (math: distinct final answers). Items hold per-item values of the same keys, for paired
 * comparisons.
 */
export async function evaluateModel(
  model: LlamaForCausalLM,
  tokenizer: Tokenizer,
  sets: EvalSets,
  config: ExperimentConfig,
  options: EvaluateOptions,
): Promise<{
  metrics: Metrics;
  items: ItemValues;
  phases: EvalPhaseSeconds;
  /** Every generated response of a full evaluation, scored (empty otherwise). */
  samples: EvalSample[];
  sandbox?: string;
}> {
  const e = config.eval;
  const phases = noEvalPhases();
  const timed = async <T>(phase: keyof EvalPhaseSeconds, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      phases[phase] += (performance.now() - t0) / 1000;
    }
  };
  const chat = chatTemplateFor(config, tokenizer);
  const metrics: Metrics = {};
  const items: ItemValues = {};
  const samples: EvalSample[] = [];
  const keepItems = options.full || options.cheapItems === true;
  const maxLength = model.config.max_position_embeddings;
  const ll = modelLogLikelihood(model, tokenizer, { batchSize: 16, maxLength });

  // Source domain: bits per byte of held-out documents (per document for the paired noise estimate).
  if (sets.sourceDocs.length > 0) {
    const rolled = await timed('losses', () => ll.rollingLogLikelihood(sets.sourceDocs));
    const p = scorePerplexity(sets.sourceDocs, rolled);
    metrics.source_loss = -p.logLikelihood / p.tokens;
    metrics.source_bpb = p.bitsPerByte;
    metrics.source_ppl = p.tokenPerplexity;
    if (keepItems) {
      items.source_bpb = rolled.map(
        (r, i) => -r.logLikelihood / Buffer.byteLength(sets.sourceDocs[i]!, 'utf8') / Math.LN2,
      );
    }
  }
  const condition = options.condition;
  if (condition) {
    const losses = await timed('losses', () =>
      conditionalLoss(model, tokenizer, targetPairs(condition, sets, 'loss', chat)),
    );
    if (losses.length) {
      metrics.target_loss = mean(losses);
      if (keepItems) items.target_loss = losses;
    }
  }
  if (condition && (options.full || options.validation)) {
    const val = await timed('losses', () =>
      conditionalLoss(model, tokenizer, targetPairs(condition, sets, 'validation', chat)),
    );
    if (val.length) metrics.val_loss = mean(val);
  }
  if (!options.full) return { metrics, items, phases, samples };

  // Source multiple choice: each task scored by log-likelihood, then averaged (every task has as many items).
  if (sets.choiceTasks.length > 0) {
    const acc: number[] = [];
    const accNorm: number[] = [];
    items.source_mc_acc = [];
    for (const { task, items: taskItems } of sets.choiceTasks) {
      const mc = await timed('choices', () => evaluateMultipleChoice(taskItems, ll, { batchSize: 32 }));
      metrics[`source_mc_${task}_acc`] = mc.acc;
      acc.push(mc.acc);
      accNorm.push(mc.accNorm);
      items.source_mc_acc.push(...mc.items.map((s) => s.acc));
    }
    metrics.source_mc_acc = mean(acc);
    metrics.source_mc_acc_norm = mean(accNorm);
  }
  // In-context copying (copy-diagnostic.ts): context for the code scores, which perplexity does not show.
  if (sets.sourceDocs.length > 0) {
    await timed('losses', async () => {
      const spans = await textSpans(tokenizer, sets.sourceDocs, COPY_SPAN_TOKENS);
      if (spans.length > 0) metrics.source_copy_gain = copyLoss(model, spans).gain;
      const random = randomSpans(tokenizer, sets.sourceDocs.length, COPY_SPAN_TOKENS, config.seed);
      metrics.random_copy_gain = copyLoss(model, random).gain;
    });
  }
  if (!condition) return { metrics, items, phases, samples };
  const [task, domain] = condition.split('-') as [Task, Domain];

  const decode = (ids: number[]) => tokenizer.decodeSync(ids, { skipSpecialTokens: true });
  const stopTokens = stopIds(tokenizer);
  if (domain === 'math' && sets.math.em.length > 0) {
    // GSM8K-style exact match: greedy answers, strict "#### N" extraction.
    const prompts = await healPrompts(
      tokenizer,
      task,
      sets.math.em.map((r) => mathPrompt(task, r.question)),
      chat,
    );
    const responses: string[] = [];
    for (let i = 0; i < prompts.ids.length; i += 32) {
      responses.push(
        ...(await timed('generate', () =>
          generateHealed(model, slicePrompts(prompts, i, i + 32), 1, {
            maxNewTokens: e.mathMaxNewTokens,
            temperature: 0,
            stopTokens,
            decode,
          }),
        )),
      );
    }
    const score = scoreGsm8k(sets.math.em, responses);
    metrics.target_score = score.strictMatch;
    items.target_score = score.items.map((x) => (x.strictCorrect ? 1 : 0));
    for (const [i, x] of score.items.entries()) {
      samples.push({
        metric: 'exact_match',
        item: i,
        response: x.response,
        target: sets.math.em[i]!.answer,
        extracted: x.strict,
        correct: x.strictCorrect,
      });
    }
  }
  if (domain === 'math' && sets.math.diversity.length > 0) {
    // Diversity: N samples per prompt (all prompts in one batch). The paper's metric is unique whole samples;
    // distinct final answers (flexible extract) are kept as context.
    const prompts = await healPrompts(
      tokenizer,
      task,
      sets.math.diversity.map((r) => mathPrompt(task, r.question)),
      chat,
    );
    const texts = await timed('generate', () =>
      sampleEach(model, prompts, e.diversitySamples, {
        maxNewTokens: e.mathMaxNewTokens,
        temperature: e.temperature,
        topP: e.topP,
        seed: options.seed * 1009 + 1,
        stopTokens,
        decode,
      }),
    );
    const responses = texts.map((group) => group.map((t) => truncateAtStop(t, GSM8K_STOP_STRINGS).trim()));
    items.diversity = responses.map((g) => new Set(g).size / g.length);
    for (const [i, g] of responses.entries())
      for (const response of g)
        samples.push({ metric: 'diversity', item: i, response, extracted: extractFlexible(response) });
    items.answer_diversity = responses.map((g) => new Set(g.map(extractFlexible)).size / g.length);
    metrics.diversity = mean(items.diversity);
    metrics.answer_diversity = mean(items.answer_diversity);
  }
  if (domain === 'code' && sets.code.tasks.length > 0) {
    // HumanEval-style: N samples per task at T=0.2, run against the task's tests; pass@1 and unique programs.
    const prompts = await healPrompts(
      tokenizer,
      task,
      sets.code.tasks.map((r) => r.prompt),
      chat,
    );
    const programs: { task_id: string; completion: string }[] = [];
    const texts = await timed('generate', () =>
      sampleEach(model, prompts, e.diversitySamples, {
        maxNewTokens: e.codeMaxNewTokens,
        temperature: e.temperature,
        topP: e.topP,
        seed: options.seed * 1013 + 1,
        stopTokens,
        decode,
      }),
    );
    items.diversity = texts.map((group, i) => {
      const completions = group.map((t) => truncateAtStop(t, HUMANEVAL_STOP_STRINGS));
      for (const completion of completions)
        programs.push({ task_id: sets.code.tasks[i]!.task_id, completion });
      return new Set(completions.map(normalizeCompletion)).size / completions.length;
    });
    metrics.diversity = mean(items.diversity);
    // Each distinct (task, completion) runs once: small models repeat themselves, and a run costs a process.
    const problems = new Map<string, CodeProblem>(sets.code.tasks.map((r) => [r.task_id, r]));
    const key = (s: { task_id: string; completion: string }) => `${s.task_id}\u0000${s.completion}`;
    const distinct = [...new Map(programs.map((s) => [key(s), s])).values()];
    // Running programs needs no tensors: give back the buffers the backend kept from training and generation, so
    // that each program's fork copies the page tables of a small process, not of one with a GB resident.
    releaseBackendCaches();
    const ev = await timed('execute', () =>
      evaluateCodeSamples(problems, distinct, { ignoreIncomplete: true }),
    );
    const passed = new Map(ev.results.map((r) => [key(r), r.passed]));
    const index = new Map(sets.code.tasks.map((t, i) => [t.task_id, i]));
    for (const s of programs) {
      samples.push({
        metric: 'pass@1',
        item: index.get(s.task_id)!,
        task_id: s.task_id,
        response: s.completion,
        correct: passed.get(key(s)) === true,
      });
    }
    const counts = sets.code.tasks.map((t) => {
      const mine = programs.filter((s) => s.task_id === t.task_id);
      return { total: mine.length, correct: mine.filter((s) => passed.get(key(s))).length };
    });
    items.target_score = counts.map((c) => c.correct / c.total);
    metrics.target_score = passAtK(counts, [1])['pass@1'] ?? 0;
    return { metrics, items, phases, samples, sandbox: describeIsolation(ev.sandbox) };
  }
  return { metrics, items, phases, samples };
}
