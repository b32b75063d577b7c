// Phase 1 and the data of phases 2-4: the domains' text split into train and held-out parts, a byte-level BPE
// tokenizer trained on the train parts of all three corpora, and tokenized Arrow datasets (@loralab/data).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashString, readSource, recordText, type SourceConfig, writeTokenizedDataset } from '@loralab/data';
import { type Tokenizer, trainBpeTokenizer } from '@loralab/tokenizer';
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

/** The text of every domain, split; what the tokenizer, the datasets and the evaluation sets are made from. */
export interface DomainTexts {
  sourceTrain: string[];
  sourceTest: string[];
  mathTrain: MathRecord[];
  mathTest: MathRecord[];
  codeTrain: string[];
  codeTest: CodeRecord[];
}

async function records(source: SourceConfig, key: string): Promise<unknown[]> {
  const out: unknown[] = [];
  try {
    for await (const r of readSource(source)) out.push(r.value);
  } catch (e) {
    throw new ExperimentError('data', `cannot read ${key}: ${(e as Error).message}`, { cause: e });
  }
  if (out.length === 0) throw new ExperimentError('data', `${key} has no records`);
  return out;
}

async function texts(source: SourceConfig, key: string): Promise<string[]> {
  return (await records(source, key)).map((v, i) => {
    const t = recordText(source, v);
    if (t instanceof Error)
      throw new ExperimentError('data', `${key} record ${i}: ${t.message}`, { cause: t });
    return t;
  });
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
      if (typeof r?.[k] !== 'string')
        throw new ExperimentError('data', `${key} record ${i}: missing string "${k}" (HumanEval schema)`);
    }
    return r as CodeRecord;
  });
}

/**
 * Reads every domain. Without an explicit held-out source, a document is held out when a hash of its text falls
 * below `sourceTestFraction`: a pure function of the text, so the split never depends on order or seed.
 */
export async function readDomainTexts(config: ExperimentConfig): Promise<DomainTexts> {
  const d = config.data;
  let sourceTrain = await texts(d.source, 'data.source');
  let sourceTest: string[];
  if (d.sourceTest) sourceTest = await texts(d.sourceTest, 'data.sourceTest');
  else {
    const held = (t: string) => hashString(t) % 10_000 < d.sourceTestFraction * 10_000;
    sourceTest = sourceTrain.filter(held);
    sourceTrain = sourceTrain.filter((t) => !held(t));
  }
  if (sourceTest.length === 0) throw new ExperimentError('data', 'no held-out source documents');
  return {
    sourceTrain,
    sourceTest,
    mathTrain: mathRecords(await records(d.mathTrain, 'data.mathTrain'), 'data.mathTrain'),
    mathTest: mathRecords(await records(d.mathTest, 'data.mathTest'), 'data.mathTest'),
    codeTrain: await texts(d.codeTrain, 'data.codeTrain'),
    codeTest: codeRecords(await records(d.codeTest, 'data.codeTest'), 'data.codeTest'),
  };
}

/** Phase 1: a byte-level BPE tokenizer (ChatML template) on the train parts of the three corpora. */
export async function trainTokenizer(
  config: ExperimentConfig,
  domains: DomainTexts,
  outDir: string,
): Promise<Tokenizer> {
  const n = config.tokenizer.docsPerCorpus;
  const corpus = [
    ...domains.sourceTrain.slice(0, n),
    ...domains.mathTrain.slice(0, n).map((r) => `Question: ${r.question}\nAnswer: ${r.answer}`),
    ...domains.codeTrain.slice(0, n),
  ];
  const tokenizer = await trainBpeTokenizer({
    texts: corpus,
    vocabSize: config.tokenizer.vocabSize,
    modelMaxLength: config.model.max_position_embeddings,
  });
  await tokenizer.save(outDir);
  return tokenizer;
}

/** Folders of the tokenized training sets. */
export interface TrainingSets {
  /** Source domain (pretraining), packed text. */
  source: string;
  /** Math conversations with an assistant-only loss mask (IFT). */
  math: string;
  /** Code text (CPT). */
  code: string;
}

/** Tokenizes the training parts into `dir/{source,math,code}` (resumable: @loralab/data skips finished sets). */
export async function writeTrainingSets(
  tokenizer: Tokenizer,
  domains: DomainTexts,
  dir: string,
  seqLen: number,
): Promise<TrainingSets> {
  const raw = join(dir, 'raw');
  mkdirSync(raw, { recursive: true });
  const jsonl = (name: string, rows: unknown[]) => {
    const file = join(raw, name);
    writeFileSync(file, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    return file;
  };
  const sets: TrainingSets = {
    source: join(dir, 'source'),
    math: join(dir, 'math'),
    code: join(dir, 'code'),
  };
  await writeTokenizedDataset(tokenizer, {
    outDir: sets.source,
    source: {
      kind: 'jsonl',
      paths: [
        jsonl(
          'source-train.jsonl',
          domains.sourceTrain.map((text) => ({ text })),
        ),
      ],
    },
  });
  await writeTokenizedDataset(tokenizer, {
    outDir: sets.math,
    kind: 'chat',
    chatThreads: 0,
    maxLength: seqLen + 1,
    truncation: 'right',
    source: {
      kind: 'jsonl',
      paths: [
        jsonl(
          'math-train.jsonl',
          domains.mathTrain.map((r) => ({ instruction: r.question, output: r.answer })),
        ),
      ],
    },
  });
  await writeTokenizedDataset(tokenizer, {
    outDir: sets.code,
    source: {
      kind: 'jsonl',
      paths: [
        jsonl(
          'code-train.jsonl',
          domains.codeTrain.map((text) => ({ text })),
        ),
      ],
    },
  });
  return sets;
}
