// Phase 1 and the data of phases 2-4: the domains' text split into train and held-out parts, a byte-level BPE
// tokenizer trained on the train parts of all three corpora, and tokenized Arrow datasets (@loralab/data).
import { join } from 'node:path';
import { hashString, readSource, recordText, type SourceConfig, writeTokenizedDataset } from '@loralab/data';
import { CHATML_TEMPLATE, type Tokenizer, trainBpeTokenizer } from '@loralab/tokenizer';
import type { ExperimentConfig } from './config.js';
import { ExperimentError } from './errors.js';

/** A math problem in the GSM8K schema. */
export interface MathRecord {
  question: string;
  answer: string;
}

/** A code task in the HumanEval schema. */
export interface CodeRecord {
  task_id: string;
  prompt: string;
  canonical_solution: string;
  test: string;
  entry_point: string;
}

/** The held-out items of each domain, in memory (bounded by the evaluation sizes). */
export interface HeldOut {
  sourceTest: string[];
  mathTest: MathRecord[];
  codeTest: CodeRecord[];
}

/** A training corpus as a stream of records: called once per pass, it yields the same records in the same order. */
export type Records<T> = () => AsyncIterable<T>;

/**
 * The training text of every set, as streams the shard writer pulls from (no copy on disk), and the first documents
 * of each corpus for the tokenizer.
 */
export interface TrainText {
  /** The source domain's train part (documents); null when not needed (no pretraining). */
  source: Records<string> | null;
  /** Math problems as conversations (`{instruction, output}`). */
  math: Records<{ instruction: string; output: string }>;
  /** Code documents of the CPT set (`data.codeText`, else `data.codeTrain`). */
  code: Records<string>;
  /** Code tasks as conversations (prompt → solution). */
  codeInstruct: Records<{ instruction: string; output: string }>;
  /** Math problems written out as plain text (question, then worked solution). */
  mathText: Records<string>;
  /** The first `tokenizer.docsPerCorpus` train documents of each corpus (source, math, code). */
  tokenizerSample: string[];
}

async function* texts(source: SourceConfig, key: string): AsyncGenerator<string> {
  let i = 0;
  try {
    for await (const r of readSource(source)) {
      const t = recordText(source, r.value);
      if (t instanceof Error)
        throw new ExperimentError('data', `${key} record ${i}: ${t.message}`, { cause: t });
      i++;
      yield t;
    }
  } catch (e) {
    if (e instanceof ExperimentError) throw e;
    throw new ExperimentError('data', `cannot read ${key}: ${(e as Error).message}`, { cause: e });
  }
  if (i === 0) throw new ExperimentError('data', `${key} has no records`);
}

async function records(source: SourceConfig, key: string, limit: number): Promise<unknown[]> {
  const out: unknown[] = [];
  try {
    for await (const r of readSource(source)) {
      if (out.length >= limit) break;
      out.push(r.value);
    }
  } catch (e) {
    throw new ExperimentError('data', `cannot read ${key}: ${(e as Error).message}`, { cause: e });
  }
  if (out.length === 0) throw new ExperimentError('data', `${key} has no records`);
  return out;
}

function mathRecords(values: unknown[], key: string): MathRecord[] {
  return values.map((v, i) => {
    const r = v as Partial<MathRecord>;
    if (typeof r?.question !== 'string' || typeof r.answer !== 'string' || !r.answer.includes('####')) {
      throw new ExperimentError(
        'data',
        `${key} record ${i}: expected {question, answer} with "#### N" in the answer`,
      );
    }
    return { question: r.question, answer: r.answer };
  });
}

function codeRecords(values: unknown[], key: string): CodeRecord[] {
  return values.map((v, i) => {
    const r = v as Partial<CodeRecord>;
    for (const k of ['task_id', 'prompt', 'canonical_solution', 'test', 'entry_point'] as const) {
      if (typeof r?.[k] !== 'string') {
        throw new ExperimentError('data', `${key} record ${i}: missing string "${k}" (HumanEval schema)`);
      }
    }
    return r as CodeRecord;
  });
}

/** A held-out source document, when the held-out part is a hashed share of `data.source`. */
function heldOut(config: ExperimentConfig): (text: string) => boolean {
  const f = config.data.sourceTestFraction;
  return (t) => hashString(t) % 10_000 < f * 10_000;
}

/**
 * Reads the held-out items. Without an explicit `data.sourceTest`, a source document is held out when a hash of its
 * text falls below `sourceTestFraction`: a pure function of the text, so the split never depends on order or seed.
 * Only as many items as the evaluation uses are kept.
 */
export async function readHeldOut(config: ExperimentConfig): Promise<HeldOut> {
  const d = config.data;
  const e = config.eval;
  const sourceWanted = e.sourceDocs + 4 * e.choiceItems + e.choices;
  const sourceTest: string[] = [];
  const held = heldOut(config);
  for await (const t of d.sourceTest
    ? texts(d.sourceTest, 'data.sourceTest')
    : texts(d.source, 'data.source')) {
    if (d.sourceTest || held(t)) sourceTest.push(t);
    if (sourceTest.length >= sourceWanted) break;
  }
  if (sourceTest.length === 0) throw new ExperimentError('data', 'no held-out source documents');
  return {
    sourceTest,
    // The last `validationItems` of each are the validation items (see buildEvalSets).
    mathTest: mathRecords(
      await records(
        d.mathTest,
        'data.mathTest',
        Math.max(e.mathProblems, e.targetLossItems, e.diversityPrompts, 1) + e.validationItems,
      ),
      'data.mathTest',
    ),
    codeTest: codeRecords(
      await records(
        d.codeTest,
        'data.codeTest',
        Math.max(e.targetLossItems, e.codeTasks, 1) + e.validationItems,
      ),
      'data.codeTest',
    ),
  };
}

/** A math problem as plain text (math CPT documents, and the prompt format math CPT arms are evaluated with). */
export function mathTextOf(question: string, answer: string): string {
  return `Question: ${question}\nAnswer: ${answer}`;
}

/** The first `n` items of a stream (stops reading there). */
async function take<T>(items: AsyncIterable<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  if (n <= 0) return out;
  for await (const x of items) {
    out.push(x);
    if (out.length >= n) break;
  }
  return out;
}

/**
 * The training parts of the corpora as streams (the source domain only when `withSource`, i.e. when the base is
 * pretrained here), and the first `tokenizer.docsPerCorpus` documents of the source, math and code corpora for the
 * tokenizer (read by a short pass that stops there).
 */
export async function trainText(config: ExperimentConfig, withSource: boolean): Promise<TrainText> {
  const d = config.data;
  const n = config.tokenizer.docsPerCorpus;
  const held = heldOut(config);
  const source = withSource
    ? async function* () {
        for await (const text of texts(d.source, 'data.source')) if (d.sourceTest || !held(text)) yield text;
      }
    : null;
  const mathProblems = async function* (src: SourceConfig, key: string) {
    let i = 0;
    for await (const r of readSource(src)) yield mathRecords([r.value], `${key} record ${i++}`)[0]!;
    if (i === 0) throw new ExperimentError('data', `${key} has no records`);
  };
  const math = async function* () {
    for await (const m of mathProblems(d.mathTrain, 'data.mathTrain'))
      yield { instruction: m.question, output: m.answer };
  };
  const codeTrain = () => texts(d.codeTrain, 'data.codeTrain');
  const code = () => (d.codeText ? texts(d.codeText, 'data.codeText') : codeTrain());
  const codeInstruct = async function* () {
    const tasks = codeRecords(
      await records(d.codeInstruct, 'data.codeInstruct', Infinity),
      'data.codeInstruct',
    );
    for (const r of tasks) yield { instruction: r.prompt, output: r.canonical_solution };
  };
  const mathText = async function* () {
    for await (const m of mathProblems(d.mathText, 'data.mathText')) yield mathTextOf(m.question, m.answer);
  };
  const mathSample = (await take(math(), n)).map((m) => mathTextOf(m.instruction, m.output));
  return {
    source,
    math,
    code,
    codeInstruct,
    mathText,
    tokenizerSample: [
      ...(source ? await take(source(), n) : []),
      ...mathSample,
      ...(await take(codeTrain(), n)),
    ],
  };
}

/** Phase 1: a byte-level BPE tokenizer (ChatML template) on the first train documents of the three corpora. */
export async function trainTokenizer(
  config: ExperimentConfig,
  text: TrainText,
  outDir: string,
): Promise<Tokenizer> {
  const tokenizer = await trainBpeTokenizer({
    texts: text.tokenizerSample,
    vocabSize: config.tokenizer.vocabSize,
    modelMaxLength: config.model.max_position_embeddings,
  });
  await tokenizer.save(outDir);
  return tokenizer;
}

/** The chat template of IFT data and math prompts: the config's, else the tokenizer's own, else ChatML. */
export function chatTemplateFor(config: ExperimentConfig, tokenizer: Tokenizer): string {
  return config.finetune.chatTemplate ?? tokenizer.chatTemplate() ?? CHATML_TEMPLATE;
}

/** Folders of the tokenized training sets. */
export interface TrainingSets {
  /** Source domain (pretraining), packed text; null when the base is not pretrained here. */
  source: string | null;
  /** Math conversations with an assistant-only loss mask (IFT). */
  math: string;
  /** Code text (CPT). */
  code: string;
  /** Code tasks as conversations with an assistant-only loss mask (code IFT). */
  codeInstruct: string;
  /** Math text (math CPT). */
  mathText: string;
}

/**
 * The shared phases run in one process even inside a job array: explicit rank 0 of 1, so a job's LORALAB_RANK,
 * SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX (which choose its units) never shard the datasets.
 */
const ONE_PROCESS = { rank: 0, worldSize: 1 } as const;

/**
 * Tokenizes the training text into `dir/{source,math,code,...}`, streamed from its generators (resumable:
 * @loralab/data skips finished sets, and a stream reopened under its name skips the records of written shards).
 */
export async function writeTrainingSets(
  tokenizer: Tokenizer,
  text: TrainText,
  dir: string,
  seqLen: number,
  chatTemplate: string,
): Promise<TrainingSets> {
  const sets: TrainingSets = {
    source: text.source ? join(dir, 'source') : null,
    math: join(dir, 'math'),
    code: join(dir, 'code'),
    codeInstruct: join(dir, 'code-instruct'),
    mathText: join(dir, 'math-text'),
  };
  const stream = (name: string, records: Records<unknown>) =>
    ({ kind: 'stream', name: `experiment-${name}`, records }) as const;
  if (text.source && sets.source) {
    await writeTokenizedDataset(tokenizer, {
      outDir: sets.source,
      source: stream('source', text.source),
      ...ONE_PROCESS,
    });
  }
  for (const [name, outDir, records] of [
    ['math', sets.math, text.math],
    ['code-instruct', sets.codeInstruct, text.codeInstruct],
  ] as const) {
    await writeTokenizedDataset(tokenizer, {
      outDir,
      kind: 'chat',
      chatTemplate,
      chatThreads: 0,
      maxLength: seqLen + 1,
      truncation: 'right',
      source: stream(name, records),
      ...ONE_PROCESS,
    });
  }
  for (const [name, outDir, records] of [
    ['code', sets.code, text.code],
    ['math-text', sets.mathText, text.mathText],
  ] as const) {
    await writeTokenizedDataset(tokenizer, { outDir, source: stream(name, records), ...ONE_PROCESS });
  }
  return sets;
}
