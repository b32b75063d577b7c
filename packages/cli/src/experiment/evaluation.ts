// Phase 4: learning and forgetting measured on one model (Biderman et al. 2024, §3.2-3.3 and Figure 5):
// target = held-out math (loss of the answer, GSM8K strict exact match) and code (loss, pass@1);
// source = held-out source-domain bits per byte and a multiple-choice task built from it; diversity = unique
// samples among N generations per prompt at a low temperature.
import {
  buildContinuationChoiceItems,
  type CodeProblem,
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
import { type GenerateOptions, generate, type LlamaForCausalLM, logLikelihood } from '@loralab/model';
import { renderChatTemplate, type Tokenizer } from '@loralab/tokenizer';
import type { ExperimentConfig } from './config.js';
import { type CodeRecord, chatTemplateFor, type HeldOut, type MathRecord } from './prepare-data.js';
import type { ItemValues, Metrics } from './results.js';

/** The held-out items every model is scored on: the same items, in the same order, for every arm. */
export interface EvalSets {
  /** Held-out source documents, cut to `eval.sourceDocChars` at a word boundary. */
  sourceDocs: string[];
  /** True continuation of a held-out passage against continuations of other passages. */
  choiceItems: MultipleChoiceItem[];
  /** Math problems scored by answer loss (`math_loss`). */
  mathLoss: MathRecord[];
  /** Math problems scored by greedy generation and exact match (`math_em`). */
  mathEm: MathRecord[];
  /** Code tasks: programs scored by loss (`code_loss`). */
  codeLoss: string[];
  /** Code tasks for pass@1 and code diversity. */
  codeTasks: CodeRecord[];
  /** Math prompts for output diversity. */
  mathDiversity: MathRecord[];
}

function cutAtWord(text: string, chars: number): string {
  if (text.length <= chars) return text;
  const at = text.lastIndexOf(' ', chars);
  return text.slice(0, at > chars / 2 ? at : chars);
}

/** Chooses the evaluation items from the held-out parts of each domain (disjoint source docs for ppl and MC). */
export function buildEvalSets(config: ExperimentConfig, domains: HeldOut): EvalSets {
  const e = config.eval;
  const docs = domains.sourceTest.map((t) => t.replace(/\s+/g, ' ').trim()).filter((t) => t.length > 0);
  const sourceDocs = docs.slice(0, e.sourceDocs).map((t) => cutAtWord(t, e.sourceDocChars));
  let choiceItems: MultipleChoiceItem[] = [];
  if (e.choiceItems > 0) {
    // Several passages per held-out document (every 400 characters), so a small held-out set yields enough items.
    const passages: string[] = [];
    for (const d of [...docs.slice(e.sourceDocs), ...docs.slice(0, e.sourceDocs)]) {
      for (let at = 0; at + 400 <= d.length && passages.length < 4 * e.choiceItems; at += 400)
        passages.push(d.slice(at, at + 400));
    }
    choiceItems = buildContinuationChoiceItems(passages, {
      numChoices: e.choices,
      contextChars: 200,
      continuationChars: 80,
      seed: config.seed + 1234,
    }).slice(0, e.choiceItems);
  }
  const code = domains.codeTest.slice(0, Math.max(e.targetLossItems, e.codeTasks));
  return {
    sourceDocs,
    choiceItems,
    mathLoss: domains.mathTest.slice(0, e.targetLossItems),
    mathEm: domains.mathTest.slice(0, e.mathProblems),
    codeLoss: code.slice(0, e.targetLossItems).map((r) => `${r.prompt}${r.canonical_solution}`),
    codeTasks: code.slice(0, e.codeTasks),
    mathDiversity: domains.mathTest.slice(0, e.diversityPrompts),
  };
}

/** What to measure: `cheap` (losses and multiple choice: every evaluation point) or `full` (plus generation). */
export interface EvaluateOptions {
  /** Which target domains to score: `ift` (math), `cpt` (code), or both (the base). */
  tasks: ('ift' | 'cpt')[];
  full: boolean;
  /** Seed of sampled generations. */
  seed: number;
}

/** A user turn rendered with the chat template and the assistant header, as the IFT data was. */
function mathPrompt(tokenizer: Tokenizer, question: string, chatTemplate: string): string {
  return renderChatTemplate(tokenizer, [{ role: 'user', content: question }], {
    addGenerationPrompt: true,
    chatTemplate,
  });
}

function stopIds(tokenizer: Tokenizer): number[] {
  const ids = [tokenizer.tokenToId('<|im_end|>'), tokenizer.eos?.id ?? null];
  return ids.filter((x): x is number => x !== null);
}

async function encodePrompts(tokenizer: Tokenizer, prompts: string[]): Promise<number[][]> {
  return (await tokenizer.encodeBatch(prompts, { addSpecialTokens: false })).map((e) => e.ids);
}

/**
 * `n` sampled continuations of every prompt, generated as one left-padded batch per group of prompts (a decoding
 * step costs about the same for 1 or 64 rows at this size); returns them grouped by prompt.
 */
async function sampleEach(
  model: LlamaForCausalLM,
  prompts: number[][],
  n: number,
  options: GenerateOptions,
): Promise<string[][]> {
  const rows = prompts.flatMap((p) => Array<number[]>(n).fill(p));
  const out: string[] = [];
  for (let i = 0; i < rows.length; i += 64) {
    out.push(
      ...(await generate(model, rows.slice(i, i + 64), { ...options, seed: (options.seed ?? 0) + i })).texts!,
    );
  }
  return prompts.map((_, j) => out.slice(j * n, (j + 1) * n));
}

/** Mean of a list (0 for an empty one). */
export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

/**
 * Scores `model` (an adapter, if any, applied) on the eval sets. Metric keys (see results.ts): `source_loss`,
 * `source_bpb`, `source_ppl`, `source_mc_acc`, `source_mc_acc_norm`; with `ift` `math_loss` (and, when `full`,
 * `math_em`, `math_diversity`, `math_text_diversity`); with `cpt` `code_loss` (and, when `full`, `code_pass@1`, `code_diversity`).
 * Items hold the per-item values of the same keys, for paired comparisons.
 */
export async function evaluateModel(
  model: LlamaForCausalLM,
  tokenizer: Tokenizer,
  sets: EvalSets,
  config: ExperimentConfig,
  options: EvaluateOptions,
): Promise<{ metrics: Metrics; items: ItemValues }> {
  const e = config.eval;
  const chat = chatTemplateFor(config, tokenizer);
  const metrics: Metrics = {};
  const items: ItemValues = {};
  const maxLength = model.config.max_position_embeddings;
  const ll = modelLogLikelihood(model, tokenizer, { batchSize: 16, maxLength });

  // Source domain: bits per byte of held-out documents (per document for the paired noise estimate).
  if (sets.sourceDocs.length > 0) {
    const rolled = await ll.rollingLogLikelihood(sets.sourceDocs);
    const p = scorePerplexity(sets.sourceDocs, rolled);
    metrics.source_loss = -p.logLikelihood / p.tokens;
    metrics.source_bpb = p.bitsPerByte;
    metrics.source_ppl = p.tokenPerplexity;
    items.source_bpb = rolled.map(
      (r, i) => -r.logLikelihood / Buffer.byteLength(sets.sourceDocs[i]!, 'utf8') / Math.LN2,
    );
  }
  if (options.tasks.includes('ift') && sets.mathLoss.length > 0) {
    // Target loss: mean next-token loss of the answer (and end of turn) given the chat prompt.
    const requests = await Promise.all(
      sets.mathLoss.map((r) =>
        encodeContextContinuation(
          tokenizer,
          mathPrompt(tokenizer, r.question, chat),
          `${r.answer}<|im_end|>`,
        ),
      ),
    );
    // An answer longer than half the context keeps its first half-context tokens (never at the default sizes).
    for (const r of requests) r.continuation = r.continuation.slice(0, Math.floor(maxLength / 2));
    const out = await logLikelihood(model, requests, { batchSize: 16, maxLength });
    items.math_loss = out.map((r) => -r.logprob / r.numTokens);
    metrics.math_loss = mean(items.math_loss);
  }
  if (options.tasks.includes('cpt') && sets.codeLoss.length > 0) {
    const rolled = await ll.rollingLogLikelihood(sets.codeLoss);
    items.code_loss = rolled.map((r) => -r.logLikelihood / r.tokens);
    metrics.code_loss =
      rolled.reduce((a, r) => a - r.logLikelihood, 0) / rolled.reduce((a, r) => a + r.tokens, 0);
  }
  if (!options.full) return { metrics, items };

  // Source multiple choice: the true continuation of a held-out passage against others, by log-likelihood.
  if (sets.choiceItems.length > 0) {
    const mc = await evaluateMultipleChoice(sets.choiceItems, ll, { batchSize: 32 });
    metrics.source_mc_acc = mc.acc;
    metrics.source_mc_acc_norm = mc.accNorm;
    items.source_mc_acc = mc.items.map((s) => s.acc);
  }

  const decode = (ids: number[]) => tokenizer.decodeSync(ids, { skipSpecialTokens: true });
  const stopTokens = stopIds(tokenizer);
  if (options.tasks.includes('ift') && sets.mathEm.length > 0) {
    // GSM8K-style exact match: greedy answers to the chat prompt, strict "#### N" extraction.
    const prompts = await encodePrompts(
      tokenizer,
      sets.mathEm.map((r) => mathPrompt(tokenizer, r.question, chat)),
    );
    const responses: string[] = [];
    for (let i = 0; i < prompts.length; i += 32) {
      const g = await generate(model, prompts.slice(i, i + 32), {
        maxNewTokens: e.mathMaxNewTokens,
        temperature: 0,
        stopTokens,
        decode,
      });
      responses.push(...g.texts!);
    }
    const score = scoreGsm8k(sets.mathEm, responses);
    metrics.math_em = score.strictMatch;
    items.math_em = score.items.map((x) => (x.strictCorrect ? 1 : 0));
  }
  if (options.tasks.includes('ift') && sets.mathDiversity.length > 0) {
    // Diversity: N samples per prompt (all prompts in one batch); share of distinct answers per prompt.
    const prompts = await encodePrompts(
      tokenizer,
      sets.mathDiversity.map((r) => mathPrompt(tokenizer, r.question, chat)),
    );
    const texts = await sampleEach(model, prompts, e.diversitySamples, {
      maxNewTokens: e.mathMaxNewTokens,
      temperature: e.temperature,
      topP: e.topP,
      seed: options.seed * 1009 + 1,
      stopTokens,
      decode,
    });
    // Two readings: distinct final answers (flexible extract: the "#### N" or last number), which is what a tiny
    // model's samples can still share, and distinct whole responses, which saturate at 1 when long outputs diverge.
    const responses = texts.map((group) => group.map((t) => truncateAtStop(t, GSM8K_STOP_STRINGS).trim()));
    items.math_diversity = responses.map((g) => new Set(g.map(extractFlexible)).size / g.length);
    items.math_text_diversity = responses.map((g) => new Set(g).size / g.length);
    metrics.math_diversity = mean(items.math_diversity);
    metrics.math_text_diversity = mean(items.math_text_diversity);
  }
  if (options.tasks.includes('cpt') && sets.codeTasks.length > 0) {
    // HumanEval-style: N samples per task at T=0.2, run against the task's tests; pass@1 and distinct programs.
    const prompts = await encodePrompts(
      tokenizer,
      sets.codeTasks.map((r) => r.prompt),
    );
    const samples: { task_id: string; completion: string }[] = [];
    const texts = await sampleEach(model, prompts, e.diversitySamples, {
      maxNewTokens: e.codeMaxNewTokens,
      temperature: e.temperature,
      topP: e.topP,
      seed: options.seed * 1013 + 1,
      stopTokens,
      decode,
    });
    items.code_diversity = texts.map((group, i) => {
      const completions = group.map((t) => truncateAtStop(t, HUMANEVAL_STOP_STRINGS));
      for (const completion of completions) samples.push({ task_id: sets.codeTasks[i]!.task_id, completion });
      return new Set(completions.map(normalizeCompletion)).size / completions.length;
    });
    metrics.code_diversity = mean(items.code_diversity);
    // Each distinct (task, completion) runs once: small models repeat themselves, and a run costs a process.
    const problems = new Map<string, CodeProblem>(sets.codeTasks.map((r) => [r.task_id, r]));
    const distinct = [...new Map(samples.map((s) => [`${s.task_id}\u0000${s.completion}`, s])).values()];
    const ev = await evaluateCodeSamples(problems, distinct, { ignoreIncomplete: true });
    const passed = new Map(ev.results.map((r) => [`${r.task_id}\u0000${r.completion}`, r.passed]));
    const counts = sets.codeTasks.map((t) => {
      const mine = samples.filter((s) => s.task_id === t.task_id);
      return {
        total: mine.length,
        correct: mine.filter((s) => passed.get(`${s.task_id}\u0000${s.completion}`)).length,
      };
    });
    items['code_pass@1'] = counts.map((c) => c.correct / c.total);
    metrics['code_pass@1'] = passAtK(counts, [1])['pass@1'] ?? 0;
  }
  return { metrics, items };
}
