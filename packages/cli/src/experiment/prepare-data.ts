// Phase 1 and the data of phases 2-4: the domains' text split into train and held-out parts, a byte-level BPE
// tokenizer trained on the train parts of all three corpora, and tokenized Arrow datasets (@loralab/data).
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
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

/** The training text, streamed to JSONL files, and the first documents of each corpus for the tokenizer. */
export interface TrainText {
  /** `{text}` lines of the source domain's train part; null when not needed (no pretraining). */
  source: string | null;
  /** `{instruction, output}` lines: math problems as conversations. */
  math: string;
  /** `{text}` lines of code. */
  code: string;
  /** `{instruction, output}` lines: code tasks as conversations (prompt → solution). */
  codeInstruct: string;
  /** `{text}` lines: math problems written out as plain text (question, then worked solution). */
  mathText: string;
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

/** Appends JSON lines to a file in blocks (the corpus never sits in memory whole). */
class JsonlWriter {
  private readonly fd: number;
  private buffer: string[] = [];
  constructor(readonly file: string) {
    this.fd = openSync(file, 'w');
  }
  write(value: unknown): void {
    this.buffer.push(JSON.stringify(value));
    if (this.buffer.length >= 1000) this.flush();
  }
  flush(): void {
    if (this.buffer.length) writeSync(this.fd, `${this.buffer.join('\n')}\n`);
    this.buffer = [];
  }
  close(): string {
    this.flush();
    closeSync(this.fd);
    return this.file;
  }
}

/**
 * Streams the training parts of the three corpora to JSONL files under `dir` (the source domain only when
 * `withSource`, i.e. when the base is pretrained here), keeping the first `tokenizer.docsPerCorpus` documents of
 * each for the tokenizer.
 */
export async function writeTrainText(
  config: ExperimentConfig,
  dir: string,
  withSource: boolean,
): Promise<TrainText> {
  const d = config.data;
  const n = config.tokenizer.docsPerCorpus;
  mkdirSync(dir, { recursive: true });
  const sourceSample: string[] = [];
  const mathSample: string[] = [];
  const codeSample: string[] = [];
  let source: string | null = null;
  if (withSource) {
    const w = new JsonlWriter(join(dir, 'source-train.jsonl'));
    const held = heldOut(config);
    for await (const text of texts(d.source, 'data.source')) {
      if (!d.sourceTest && held(text)) continue;
      w.write({ text });
      if (sourceSample.length < n) sourceSample.push(text);
    }
    source = w.close();
  }
  const math = new JsonlWriter(join(dir, 'math-train.jsonl'));
  let i = 0;
  for await (const r of readSource(d.mathTrain)) {
    const [m] = mathRecords([r.value], `data.mathTrain record ${i++}`);
    math.write({ instruction: m!.question, output: m!.answer });
    if (mathSample.length < n) mathSample.push(`Question: ${m!.question}\nAnswer: ${m!.answer}`);
  }
  if (i === 0) throw new ExperimentError('data', 'data.mathTrain has no records');
  const code = new JsonlWriter(join(dir, 'code-train.jsonl'));
  for await (const text of texts(d.codeTrain, 'data.codeTrain')) {
    code.write({ text });
    if (codeSample.length < n) codeSample.push(text);
  }
  const codeInstruct = new JsonlWriter(join(dir, 'code-instruct.jsonl'));
  const instructions = codeRecords(
    await records(d.codeInstruct, 'data.codeInstruct', Infinity),
    'data.codeInstruct',
  );
  for (const r of instructions) codeInstruct.write({ instruction: r.prompt, output: r.canonical_solution });
  const mathText = new JsonlWriter(join(dir, 'math-text.jsonl'));
  let j = 0;
  for await (const r of readSource(d.mathText)) {
    const [m] = mathRecords([r.value], `data.mathText record ${j++}`);
    mathText.write({ text: `${mathTextOf(m!.question, m!.answer)}` });
  }
  if (j === 0) throw new ExperimentError('data', 'data.mathText has no records');
  return {
    source,
    math: math.close(),
    code: code.close(),
    codeInstruct: codeInstruct.close(),
    mathText: mathText.close(),
    tokenizerSample: [...sourceSample, ...mathSample, ...codeSample],
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

/** Tokenizes the training text into `dir/{source,math,code}` (resumable: @loralab/data skips finished sets). */
export async function writeTrainingSets(
  tokenizer: Tokenizer,
  text: TrainText,
  dir: string,
  seqLen: number,
  chatTemplate: string,
): Promise<TrainingSets> {
  let source: string | null = null;
  if (text.source) {
    source = join(dir, 'source');
    await writeTokenizedDataset(tokenizer, {
      outDir: source,
      source: { kind: 'jsonl', paths: [text.source] },
      ...ONE_PROCESS,
    });
  }
  const sets: TrainingSets = {
    source,
    math: join(dir, 'math'),
    code: join(dir, 'code'),
    codeInstruct: join(dir, 'code-instruct'),
    mathText: join(dir, 'math-text'),
  };
  for (const [outDir, file] of [
    [sets.math, text.math],
    [sets.codeInstruct, text.codeInstruct],
  ] as const) {
    await writeTokenizedDataset(tokenizer, {
      outDir,
      kind: 'chat',
      chatTemplate,
      chatThreads: 0,
      maxLength: seqLen + 1,
      truncation: 'right',
      source: { kind: 'jsonl', paths: [file] },
      ...ONE_PROCESS,
    });
  }
  for (const [outDir, file] of [
    [sets.code, text.code],
    [sets.mathText, text.mathText],
  ] as const) {
    await writeTokenizedDataset(tokenizer, {
      outDir,
      source: { kind: 'jsonl', paths: [file] },
      ...ONE_PROCESS,
    });
  }
  return sets;
}
