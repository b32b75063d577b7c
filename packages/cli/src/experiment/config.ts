// The learn-vs-forget experiment's config (Biderman et al. 2024, §3 at a scale two CPU cores can run):
// one JSON-serialisable object, two presets, and resolveExperimentConfig() that checks it once.
import type { SourceConfig } from '@loralab/data';
import { resolveSourceConfig } from '@loralab/data';
import { ConfigError } from './errors.js';

/** One finetuning arm: a method (and its regulariser or rank) on a target-domain task. */
export interface ArmConfig {
  /** Unique name; the arm's folder is `arms/<name>` and the report labels it so. */
  name: string;
  /** `ift`: instruction finetuning on math problems; `cpt`: continued pretraining on code. */
  task: 'ift' | 'cpt';
  /** `full`: every weight trains; `lora`: adapters on all linear modules, the base frozen. */
  method: 'full' | 'lora';
  /** LoRA rank (method `lora` only; null for `full`). */
  r: number | null;
  /** LoRA alpha; null = 2r, the paper's choice (method `lora` only). */
  alpha: number | null;
  /** Decoupled weight decay; null = `finetune.weightDecay`. The paper's regulariser baseline uses it on full. */
  weightDecay: number | null;
  /** Dropout on attention probabilities and on each block's residual branch (full finetuning baseline); 0 = off. */
  dropout: number;
}

/** The model shape pretrained as the base (Hugging Face `config.json` fields; `vocab_size` comes from the tokenizer). */
export interface BaseShape {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  /** Longest sequence; also the context budget of evaluation. */
  max_position_embeddings: number;
  tie_word_embeddings: boolean;
}

export interface ExperimentConfig {
  /** Seed of every random choice: initialisation, data order, dropout, sampling, evaluation subsets. Default 0. */
  seed: number;
  /** Tensor backend for @loralab/model's initBackend (`auto`: LORALAB_BACKEND or the best installed, which is the
   * native CPU backend of @loralab/kernels where it builds, else wasm; `native`, `wasm`, `cpu`, `tensorflow`,
   * `cuda` (the last two untested: they have never run here). Default `auto`. Results differ between backends only by float32 rounding. */
  backend: string;
  /** Reuse the base model shipped in this package when its fingerprint matches this config (phases 1-2 become a
   * copy); false pretrains from scratch (`--no-shipped-base`). Default true. */
  shippedBase: boolean;
  /** A Hugging Face Llama model folder (config.json, *.safetensors, tokenizer.json) to finetune instead of a
   * pretrained small base; null = shipped or pretrained base. Default null. */
  baseModel: string | null;
  /** Byte-level BPE tokenizer trained on the built-in corpora (phase 1; unused with `baseModel`). */
  tokenizer: {
    /** Vocabulary size, special tokens included. */
    vocabSize: number;
    /** Documents drawn from each of the three corpora (source train split, math train, code train) to train it. */
    docsPerCorpus: number;
  };
  /** Shape of the pretrained base (phase 2; unused with `baseModel`). */
  model: BaseShape;
  /** Where each domain's text comes from (@loralab/data `SourceConfig`s). */
  data: {
    /** Source domain, used for pretraining and for forgetting (held-out part). Default the Brown corpus. */
    source: SourceConfig;
    /** Held-out source-domain documents; null = split `source` by a hash of each document (`sourceTestFraction`). */
    sourceTest: SourceConfig | null;
    /** Share of `source` documents held out when `sourceTest` is null, in (0, 1). */
    sourceTestFraction: number;
    /** Target domain for instruction finetuning: records `{question, answer}` (GSM8K schema), train split. */
    mathTrain: SourceConfig;
    /** Held-out math problems (GSM8K schema) for exact match and target loss. */
    mathTest: SourceConfig;
    /** Target domain for continued pretraining: code text. */
    codeTrain: SourceConfig;
    /** Held-out code tasks (HumanEval schema) for pass@k, diversity and target loss. */
    codeTest: SourceConfig;
  };
  /** Pretraining of the base on the source domain (phase 2). */
  pretrain: {
    /** Seed of the base's initialisation and data order (the finetuning `seed` does not change the base). */
    seed: number;
    /** Optimizer steps. */
    steps: number;
    /** Tokens per packed sequence. */
    seqLen: number;
    /** Sequences per step. */
    microBatchSize: number;
    /** Peak learning rate (AdamW, cosine to 10% with `warmupRatio` warmup). */
    lr: number;
    warmupRatio: number;
    weightDecay: number;
  };
  /** Finetuning (phase 3): identical data order, seed and schedule in every arm. */
  finetune: {
    /** `adamw` or `lion` (LionW, the paper's). */
    optimizer: 'adamw' | 'lion';
    /** Peak learning rate of full finetuning. */
    fullLr: number;
    /** LoRA's learning rate = fullLr × this (the paper: about 10). */
    loraLrMultiplier: number;
    /** Default decoupled weight decay of every arm (an arm's `weightDecay` overrides it). */
    weightDecay: number;
    /** LoRA dropout on the adapter input (the paper: 0.05; 0 by default here, where dropout ops make a LoRA step 1.5x slower). */
    loraDropout: number;
    /** Warmup share of the cosine schedule (the paper: 0.1 for IFT). */
    warmupRatio: number;
    /** Gradient clipping by global norm (the paper: 1.0); null = off. */
    clipGradNorm: number | null;
    /** Tokens per sequence (IFT: one conversation per row, padded; CPT: packed). */
    seqLen: number;
    /** Sequences per optimizer step. */
    microBatchSize: number;
    /** Optimizer steps of the IFT arms. */
    iftSteps: number;
    /** Optimizer steps of the CPT arms. */
    cptSteps: number;
    /** Evaluations along the way (cheap metrics), evenly spaced; the final one is always made. */
    evalPoints: number;
    /** Jinja chat template of the IFT conversations and math prompts; null = the tokenizer's own, else ChatML. */
    chatTemplate: string | null;
  };
  /** The arms; at least one `full` arm per task and one `lora` arm are needed for the verdict. */
  arms: ArmConfig[];
  /** Evaluation sizes (phase 4). */
  eval: {
    /** Held-out math problems scored by exact match (generation, greedy) at the end of each IFT arm. */
    mathProblems: number;
    /** Held-out math problems and code files scored by loss at every evaluation point. */
    targetLossItems: number;
    /** New tokens generated per math answer. */
    mathMaxNewTokens: number;
    /** Held-out source documents for perplexity and bits per byte. */
    sourceDocs: number;
    /** Characters kept per source document (the start), to bound evaluation time. */
    sourceDocChars: number;
    /** Multiple-choice items from held-out source text: the true continuation against `choices - 1` others. */
    choiceItems: number;
    choices: number;
    /** Prompts and samples per prompt for the diversity metric (unique samples among N at `temperature`). */
    diversityPrompts: number;
    diversitySamples: number;
    /** Sampling temperature and nucleus of diversity and pass@k samples (the paper: 0.2, 0.95). */
    temperature: number;
    topP: number;
    /** Held-out code tasks for pass@k at the end of each CPT arm (samples per task: `diversitySamples`). */
    codeTasks: number;
    codeMaxNewTokens: number;
  };
  /** Rank analysis of every ΔW (phase 5). */
  rank: {
    /** Energy threshold of rank@τ (the paper: 0.9). */
    tau: number;
  };
}

const armsFor = (ranks: number[], cpt: boolean): ArmConfig[] => {
  const arm = (a: Partial<ArmConfig> & Pick<ArmConfig, 'name' | 'task' | 'method'>): ArmConfig => ({
    r: null,
    alpha: null,
    weightDecay: null,
    dropout: 0,
    ...a,
  });
  const out: ArmConfig[] = [arm({ name: 'ift-full', task: 'ift', method: 'full' })];
  for (const r of ranks) out.push(arm({ name: `ift-lora-r${r}`, task: 'ift', method: 'lora', r }));
  out.push(arm({ name: 'ift-full-wd', task: 'ift', method: 'full', weightDecay: 0.1 }));
  out.push(arm({ name: 'ift-full-dropout', task: 'ift', method: 'full', dropout: 0.1 }));
  if (cpt) {
    out.push(arm({ name: 'cpt-full', task: 'cpt', method: 'full' }));
    out.push(arm({ name: 'cpt-lora-r16', task: 'cpt', method: 'lora', r: 16 }));
  }
  return out;
};

/** The default experiment: sized to finish in a few minutes on two shared CPU cores. */
export const DEFAULT_EXPERIMENT: ExperimentConfig = {
  seed: 0,
  backend: 'auto',
  shippedBase: true,
  baseModel: null,
  tokenizer: { vocabSize: 2048, docsPerCorpus: 2000 },
  model: {
    hidden_size: 96,
    intermediate_size: 256,
    num_hidden_layers: 3,
    num_attention_heads: 3,
    num_key_value_heads: 3,
    max_position_embeddings: 256,
    tie_word_embeddings: false,
  },
  data: {
    source: { kind: 'brown' },
    sourceTest: null,
    sourceTestFraction: 0.1,
    mathTrain: { kind: 'math', split: 'train', count: 4000 },
    mathTest: { kind: 'math', split: 'test', count: 400 },
    codeTrain: { kind: 'code-corpus', count: 2000 },
    codeTest: { kind: 'code', split: 'test', count: 32 },
  },
  pretrain: {
    seed: 0,
    steps: 600,
    seqLen: 128,
    microBatchSize: 16,
    lr: 3e-3,
    warmupRatio: 0.05,
    weightDecay: 0.1,
  },
  finetune: {
    optimizer: 'adamw',
    fullLr: 3e-4,
    loraLrMultiplier: 10,
    weightDecay: 0,
    loraDropout: 0,
    warmupRatio: 0.1,
    clipGradNorm: 1,
    seqLen: 128,
    microBatchSize: 8,
    iftSteps: 80,
    cptSteps: 60,
    evalPoints: 2,
    chatTemplate: null,
  },
  arms: armsFor([4, 16, 64], true),
  eval: {
    mathProblems: 50,
    targetLossItems: 100,
    mathMaxNewTokens: 80,
    sourceDocs: 40,
    sourceDocChars: 600,
    choiceItems: 60,
    choices: 4,
    diversityPrompts: 8,
    diversitySamples: 8,
    temperature: 0.2,
    topP: 0.95,
    codeTasks: 8,
    codeMaxNewTokens: 80,
  },
  rank: { tau: 0.9 },
};

/**
 * The next base (issue 15): 5.3M parameters at hidden size 256, so LoRA ranks 1-16 are 0.4-6% of the width (the
 * paper's r/d is 16/4096 to 256/4096), pretrained on the built-in English corpus (Brown, State of the Union
 * addresses, Moby-Dick: 4.2M training tokens with this tokenizer) for 3000 steps of 4096 tokens (12.3M tokens,
 * about 3 epochs). It is built by `tools/bench/experiment-base.ts --recipe english-5m` (about 70 minutes on two idle
 * cores at the native backend's ~3,000 tokens/s; resumable) and becomes the default once shipped.
 */
export const ENGLISH_5M_RECIPE: Pick<ExperimentConfig, 'tokenizer' | 'model' | 'pretrain'> & {
  source: SourceConfig;
} = {
  tokenizer: { vocabSize: 4096, docsPerCorpus: 2000 },
  model: {
    hidden_size: 256,
    intermediate_size: 704,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 4,
    max_position_embeddings: 256,
    tie_word_embeddings: false,
  },
  pretrain: {
    seed: 0,
    steps: 3000,
    seqLen: 256,
    microBatchSize: 16,
    lr: 2e-3,
    warmupRatio: 0.02,
    weightDecay: 0.1,
  },
  source: { kind: 'english' },
};

/** `--quick`: the same phases at smoke-test size (well under 3 minutes); its numbers carry little signal. */
export const QUICK_EXPERIMENT: ExperimentConfig = {
  ...DEFAULT_EXPERIMENT,
  finetune: { ...DEFAULT_EXPERIMENT.finetune, iftSteps: 12, cptSteps: 0, microBatchSize: 8, evalPoints: 2 },
  arms: armsFor([4, 16], false).filter((a) => a.name !== 'ift-full-dropout'),
  eval: {
    ...DEFAULT_EXPERIMENT.eval,
    mathProblems: 12,
    targetLossItems: 32,
    mathMaxNewTokens: 48,
    sourceDocs: 8,
    sourceDocChars: 600,
    choiceItems: 16,
    diversityPrompts: 3,
    diversitySamples: 4,
    codeTasks: 0,
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Resolution: a partial config (from a JSON/YAML file) merged onto a preset, every key checked against the preset.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keys whose value is replaced whole (source configs, nullable objects, lists) rather than merged key by key. */
const REPLACED = new Set([
  'data.source',
  'data.sourceTest',
  'data.mathTrain',
  'data.mathTest',
  'data.codeTrain',
  'data.codeTest',
  'arms',
]);
/** Keys that may be null although the preset value is not (or vice versa). */
const NULLABLE = new Set(['baseModel', 'data.sourceTest', 'finetune.clipGradNorm', 'finetune.chatTemplate']);

function merge(preset: unknown, partial: unknown, path: string): unknown {
  if (partial === undefined) return preset;
  if (REPLACED.has(path)) return partial;
  if (isObject(preset)) {
    if (!isObject(partial))
      throw new ConfigError(path || '(root)', `expected an object, found ${JSON.stringify(partial)}`);
    const out: Record<string, unknown> = { ...preset };
    for (const [k, v] of Object.entries(partial)) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in preset)) {
        throw new ConfigError(p, `unknown key; known keys here: ${Object.keys(preset).join(', ')}`);
      }
      out[k] = merge(preset[k], v, p);
    }
    return out;
  }
  if (partial === null && NULLABLE.has(path)) return null;
  if (preset === null && NULLABLE.has(path)) return partial;
  if (typeof partial !== typeof preset) {
    throw new ConfigError(path, `expected a ${typeof preset}, found ${JSON.stringify(partial)}`);
  }
  return partial;
}

function positiveInt(v: unknown, key: string, min = 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ConfigError(key, `expected an integer >= ${min}, found ${JSON.stringify(v)}`);
  }
  return v;
}

function positive(v: unknown, key: string, allowZero = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new ConfigError(
      key,
      `expected a ${allowZero ? 'non-negative' : 'positive'} number, found ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function fraction(v: unknown, key: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) {
    throw new ConfigError(key, `expected a number in [0, 1), found ${JSON.stringify(v)}`);
  }
  return v;
}

const ARM_KEYS = ['name', 'task', 'method', 'r', 'alpha', 'weightDecay', 'dropout'];

function resolveArm(raw: unknown, i: number): ArmConfig {
  const key = `arms[${i}]`;
  if (!isObject(raw)) throw new ConfigError(key, `expected an object, found ${JSON.stringify(raw)}`);
  for (const k of Object.keys(raw)) {
    if (!ARM_KEYS.includes(k))
      throw new ConfigError(`${key}.${k}`, `unknown key; known keys: ${ARM_KEYS.join(', ')}`);
  }
  const { name, task, method } = raw;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new ConfigError(
      `${key}.name`,
      `expected a folder-safe name (letters, digits, . _ -), found ${JSON.stringify(name)}`,
    );
  }
  if (task !== 'ift' && task !== 'cpt')
    throw new ConfigError(`${key}.task`, `expected "ift" or "cpt", found ${JSON.stringify(task)}`);
  if (method !== 'full' && method !== 'lora') {
    throw new ConfigError(`${key}.method`, `expected "full" or "lora", found ${JSON.stringify(method)}`);
  }
  const r = raw.r ?? null;
  const alpha = raw.alpha ?? null;
  if (method === 'lora') positiveInt(r, `${key}.r`);
  else if (r !== null)
    throw new ConfigError(`${key}.r`, 'a rank is for method "lora" only; remove it or set method "lora"');
  if (alpha !== null) {
    if (method !== 'lora') throw new ConfigError(`${key}.alpha`, 'alpha is for method "lora" only');
    positive(alpha, `${key}.alpha`);
  }
  const weightDecay = raw.weightDecay ?? null;
  if (weightDecay !== null) positive(weightDecay, `${key}.weightDecay`, true);
  const dropout = raw.dropout ?? 0;
  fraction(dropout, `${key}.dropout`);
  return {
    name,
    task,
    method,
    r: r as number | null,
    alpha: alpha as number | null,
    weightDecay: weightDecay as number | null,
    dropout: dropout as number,
  };
}

function resolveSource(v: unknown, key: string): SourceConfig {
  if (!isObject(v)) throw new ConfigError(key, `expected a source config object, found ${JSON.stringify(v)}`);
  try {
    return resolveSourceConfig(v as unknown as SourceConfig);
  } catch (e) {
    const sub = (e as { key?: string }).key?.replace(/^source\.?/, '');
    throw new ConfigError(sub ? `${key}.${sub}` : key, (e as Error).message, { cause: e });
  }
}

/**
 * Merges `partial` (a parsed JSON/YAML config, possibly empty) onto a preset and checks it: unknown keys (with
 * their dotted path), types, ranges, arm names and cross-field rules. Returns a complete, independent config.
 */
export function resolveExperimentConfig(
  partial: unknown,
  preset: 'default' | 'quick' = 'default',
): ExperimentConfig {
  const base = preset === 'quick' ? QUICK_EXPERIMENT : DEFAULT_EXPERIMENT;
  if (preset !== 'default' && preset !== 'quick') {
    throw new ConfigError('preset', `expected "default" or "quick", found ${JSON.stringify(preset)}`);
  }
  const merged = merge(structuredClone(base), partial ?? {}, '') as ExperimentConfig;
  const c = structuredClone(merged as unknown as Json) as unknown as ExperimentConfig;

  positiveInt(c.seed, 'seed', 0);
  if (c.baseModel !== null && (typeof c.baseModel !== 'string' || c.baseModel === '')) {
    throw new ConfigError(
      'baseModel',
      `expected a model folder path or null, found ${JSON.stringify(c.baseModel)}`,
    );
  }
  positiveInt(c.tokenizer.vocabSize, 'tokenizer.vocabSize', 300);
  positiveInt(c.tokenizer.docsPerCorpus, 'tokenizer.docsPerCorpus');
  for (const k of [
    'hidden_size',
    'intermediate_size',
    'num_hidden_layers',
    'num_attention_heads',
    'num_key_value_heads',
    'max_position_embeddings',
  ] as const) {
    positiveInt(c.model[k], `model.${k}`);
  }
  if (c.model.hidden_size % c.model.num_attention_heads !== 0) {
    throw new ConfigError(
      'model.num_attention_heads',
      `must divide hidden_size ${c.model.hidden_size}, found ${c.model.num_attention_heads}`,
    );
  }
  if (c.model.num_attention_heads % c.model.num_key_value_heads !== 0) {
    throw new ConfigError(
      'model.num_key_value_heads',
      `must divide num_attention_heads ${c.model.num_attention_heads}`,
    );
  }
  for (const k of ['source', 'mathTrain', 'mathTest', 'codeTrain', 'codeTest'] as const)
    c.data[k] = resolveSource(c.data[k], `data.${k}`);
  if (c.data.sourceTest !== null) c.data.sourceTest = resolveSource(c.data.sourceTest, 'data.sourceTest');
  else if (!(c.data.sourceTestFraction > 0 && c.data.sourceTestFraction < 1)) {
    throw new ConfigError(
      'data.sourceTestFraction',
      `expected a number in (0, 1) when data.sourceTest is null, found ${c.data.sourceTestFraction}`,
    );
  }
  positiveInt(c.pretrain.seed, 'pretrain.seed', 0);
  positiveInt(c.pretrain.steps, 'pretrain.steps', 0);
  positiveInt(c.pretrain.seqLen, 'pretrain.seqLen', 2);
  positiveInt(c.pretrain.microBatchSize, 'pretrain.microBatchSize');
  positive(c.pretrain.lr, 'pretrain.lr');
  fraction(c.pretrain.warmupRatio, 'pretrain.warmupRatio');
  positive(c.pretrain.weightDecay, 'pretrain.weightDecay', true);
  const f = c.finetune;
  if (f.optimizer !== 'adamw' && f.optimizer !== 'lion') {
    throw new ConfigError(
      'finetune.optimizer',
      `expected "adamw" or "lion", found ${JSON.stringify(f.optimizer)}`,
    );
  }
  positive(f.fullLr, 'finetune.fullLr');
  positive(f.loraLrMultiplier, 'finetune.loraLrMultiplier');
  positive(f.weightDecay, 'finetune.weightDecay', true);
  fraction(f.loraDropout, 'finetune.loraDropout');
  fraction(f.warmupRatio, 'finetune.warmupRatio');
  if (f.clipGradNorm !== null) positive(f.clipGradNorm, 'finetune.clipGradNorm');
  positiveInt(f.seqLen, 'finetune.seqLen', 2);
  positiveInt(f.microBatchSize, 'finetune.microBatchSize');
  positiveInt(f.iftSteps, 'finetune.iftSteps', 0);
  positiveInt(f.cptSteps, 'finetune.cptSteps', 0);
  positiveInt(f.evalPoints, 'finetune.evalPoints');
  if (f.chatTemplate !== null && (typeof f.chatTemplate !== 'string' || !f.chatTemplate.includes('{'))) {
    throw new ConfigError(
      'finetune.chatTemplate',
      `expected a Jinja template string or null, found ${JSON.stringify(f.chatTemplate)}`,
    );
  }
  if (c.baseModel === null) {
    for (const [k, v] of [
      ['pretrain.seqLen', c.pretrain.seqLen],
      ['finetune.seqLen', f.seqLen],
    ] as const) {
      if (v > c.model.max_position_embeddings) {
        throw new ConfigError(
          k,
          `${v} exceeds model.max_position_embeddings ${c.model.max_position_embeddings}`,
        );
      }
    }
  }

  if (!Array.isArray(c.arms))
    throw new ConfigError('arms', `expected a list of arms, found ${JSON.stringify(c.arms)}`);
  c.arms = c.arms.map(resolveArm);
  const names = new Set<string>();
  for (const [i, a] of c.arms.entries()) {
    if (names.has(a.name)) throw new ConfigError(`arms[${i}].name`, `duplicate arm name "${a.name}"`);
    names.add(a.name);
    const steps = a.task === 'ift' ? f.iftSteps : f.cptSteps;
    if (steps === 0) {
      throw new ConfigError(
        `arms[${i}]`,
        `arm "${a.name}" has task ${a.task} but finetune.${a.task}Steps is 0; remove the arm or give it steps`,
      );
    }
  }

  const e = c.eval;
  for (const k of [
    'mathProblems',
    'targetLossItems',
    'sourceDocs',
    'choiceItems',
    'diversityPrompts',
    'codeTasks',
  ] as const) {
    positiveInt(e[k], `eval.${k}`, 0);
  }
  for (const k of ['mathMaxNewTokens', 'sourceDocChars', 'codeMaxNewTokens', 'diversitySamples'] as const)
    positiveInt(e[k], `eval.${k}`);
  positiveInt(e.choices, 'eval.choices', 2);
  positive(e.temperature, 'eval.temperature', true);
  if (!(e.topP > 0 && e.topP <= 1))
    throw new ConfigError('eval.topP', `expected a number in (0, 1], found ${e.topP}`);
  if (!(c.rank.tau > 0 && c.rank.tau < 1))
    throw new ConfigError('rank.tau', `expected a number in (0, 1), found ${c.rank.tau}`);
  return c;
}
