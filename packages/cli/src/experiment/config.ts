// The learn-vs-forget experiment's config (Biderman et al. 2024, §3 at a scale two CPU cores can run):
// one JSON-serialisable object, two presets, and resolveExperimentConfig() that checks it once.
import type { SourceConfig } from '@loralab/data';
import { resolveSourceConfig } from '@loralab/data';
import { ConfigError } from './errors.js';

/** The training regime: instruction finetuning (conversations, loss on the response) or continued pretraining (text). */
export type Task = 'ift' | 'cpt';
/** The target domain: its training set and its evaluation target (math: exact match; code: pass@1; both: loss). */
export type Domain = 'math' | 'code';
/** Which linear modules LoRA adapts (PEFT names): all seven, attention (q,k,v,o) or MLP (gate,up,down). */
export type TargetModules = 'all' | 'attention' | 'mlp';

/**
 * One finetuning arm: a method (and its rank or regulariser) on one condition (task × domain), swept over learning
 * rates and repeated over seeds. Every null field takes its default from `finetune` (defaults in one place).
 * The paper's four conditions: IFT math (MetaMathQA → GSM8K), IFT code (Magicoder → HumanEval), CPT math
 * (OpenWebMath → GSM8K), CPT code (StarCoder-Python → HumanEval).
 */
export interface ArmConfig {
  /** Unique name; unit folders are `units/<name>--lr<lr>--s<seed>` and the report labels the arm so. */
  name: string;
  /** `ift`: conversations with the loss on the response; `cpt`: packed plain text. */
  task: Task;
  /** Target domain; default `math` for `ift` and `code` for `cpt` (the earlier two conditions). */
  domain: Domain;
  /** `full`: every weight trains; `lora`: adapters on `targetModules`, the base frozen. */
  method: 'full' | 'lora';
  /** LoRA rank (method `lora` only; null for `full`). */
  r: number | null;
  /** LoRA alpha; null = 2r, the paper's choice (method `lora` only). */
  alpha: number | null;
  /** LoRA's modules (method `lora` only): `all` (the paper's), `attention` or `mlp`. Default `all`. */
  targetModules: TargetModules;
  /** Peak learning rate; null = `finetune.fullLr` (× `finetune.loraLrMultiplier` for LoRA). */
  lr: number | null;
  /** Peak learning rates to sweep (the paper's App. B); the one with the best validation score is reported.
   * null = the single `lr`. Give `lr` or `lrSweep`, not both. */
  lrSweep: number[] | null;
  /** Optimizer steps; null = `finetune.iftSteps` or `finetune.cptSteps`. */
  steps: number | null;
  /** Sequences per step; null = `finetune.microBatchSize`. */
  microBatchSize: number | null;
  /** Learning-rate schedule (warmup `finetune.warmupRatio`); null = `finetune.schedule`. */
  schedule: 'cosine' | 'linear' | 'constant' | null;
  /** Decoupled weight decay; null = `finetune.weightDecay`. The paper's regulariser baseline uses it on full. */
  weightDecay: number | null;
  /** Dropout on attention probabilities and on each block's residual branch (full finetuning baseline); 0 = off. */
  dropout: number;
  /** Training seeds (initialisation of adapters, data order, dropout, sampling); null = `[seed]`. Two or more
   * give the report a run-to-run noise band. */
  seeds: number[] | null;
}

/** The built-in multiple-choice tasks on held-out source text (see `eval.choiceTasks`). */
export const CHOICE_TASKS = ['continuation', 'cloze', 'word_order'] as const;
export type ChoiceTask = (typeof CHOICE_TASKS)[number];

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
    /** Code text: part of the tokenizer's training sample (so of the base's recipe), and the code CPT corpus when
     * `codeText` is null. */
    codeTrain: SourceConfig;
    /** Code continued pretraining (the paper's StarCoder-Python): code text; null = `codeTrain`. Apart from
     * `codeTrain` so that the CPT corpus can change without changing the tokenizer, hence the shipped base. */
    codeText: SourceConfig | null;
    /** Held-out code tasks (HumanEval schema) for pass@k, diversity and target loss. */
    codeTest: SourceConfig;
    /** Code instruction finetuning (the paper's Magicoder): code tasks (HumanEval schema), the prompt as the
     * instruction and the solution as the response. Default the code generator's train split. */
    codeInstruct: SourceConfig;
    /** Math continued pretraining (the paper's OpenWebMath): math problems (GSM8K schema) written out as plain text,
     * question then worked solution. Default the math generator's train split with another seed. */
    mathText: SourceConfig;
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
    /** LoRA dropout on the adapter input (the paper: 0.05, the default). */
    loraDropout: number;
    /** Warmup share of the schedule (the paper: 0.1 for IFT). */
    warmupRatio: number;
    /** Default learning-rate schedule of the arms (the paper: cosine). */
    schedule: 'cosine' | 'linear' | 'constant';
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
    /** Evaluations along the way (cheap metrics: target and source loss), evenly spaced, the final one included;
     * they are the points of the learning curves and of the learning-vs-forgetting frontier. */
    evalPoints: number;
    /** Jinja chat template of the IFT conversations and math prompts; null = the tokenizer's own, else ChatML. */
    chatTemplate: string | null;
  };
  /** The arms; at least one `full` arm per task and one `lora` arm are needed for the verdict. */
  arms: ArmConfig[];
  /** Evaluation sizes (phase 4). */
  eval: {
    /** Held-out items per target domain kept apart for choosing each arm's learning rate (App. B): the last
     * `validationItems` of the held-out set, never among the test items reported. Scored by target loss. */
    validationItems: number;
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
    /** Multiple-choice tasks on held-out source text, averaged into `source_mc_acc` (as the paper averages
     * HellaSwag, ARC-Challenge and WinoGrande): `continuation` (the true continuation of a passage against those of
     * others), `cloze` (a sentence against copies with one word replaced), `word_order` (against copies with two
     * adjacent words swapped). */
    choiceTasks: ChoiceTask[];
    /** Items per multiple-choice task (each task keeps the same number, so the average weighs them equally). */
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

/** An arm with every optional field at its default. */
export function arm(a: Partial<ArmConfig> & Pick<ArmConfig, 'name' | 'task' | 'method'>): ArmConfig {
  return {
    domain: a.task === 'ift' ? 'math' : 'code',
    r: null,
    alpha: null,
    targetModules: 'all',
    lr: null,
    lrSweep: null,
    steps: null,
    microBatchSize: null,
    schedule: null,
    weightDecay: null,
    dropout: 0,
    seeds: null,
    ...a,
  };
}

/**
 * The shipped base's recipe: 5.3M parameters at hidden size 256, so LoRA ranks 1-16 are 0.4-6% of the width (the
 * paper's r/d is 16/4096 to 256/4096), pretrained on the built-in English corpus (Brown, State of the Union
 * addresses, Moby-Dick: 4.2M training tokens with this tokenizer) for 2000 steps of 4096 tokens (8.2M tokens,
 * about 2 epochs). `tools/bench/experiment-base.ts` rebuilds it (about 70 minutes on two idle cores at the native
 * backend's ~2,000 tokens/s at this size; resumable).
 */
export const SHIPPED_BASE_RECIPE: Pick<ExperimentConfig, 'tokenizer' | 'model' | 'pretrain'> & {
  data: Pick<ExperimentConfig['data'], 'source' | 'mathTrain'>;
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
    steps: 2000,
    seqLen: 256,
    microBatchSize: 16,
    lr: 2e-3,
    warmupRatio: 0.02,
    weightDecay: 0.1,
  },
  // The math set takes part in the tokenizer's training, so its level is part of the base's recipe.
  data: {
    source: { kind: 'english' },
    mathTrain: { kind: 'math', split: 'train', count: 4000, level: 'easy' },
  },
};

/**
 * The default arms, the scale knobs in one place: every condition (task × domain) gets full finetuning and LoRA
 * r=`r`, each swept over its condition's `fullLrs` / `loraLrs` and repeated over `seeds` (the headline arms); the
 * first condition also gets the rank and regulariser arms at one learning rate (`extraFullLr`, `extraLoraLr`) and
 * one seed.
 */
function defaultArms(o: {
  conditions: { task: Task; domain: Domain; fullLrs: number[]; loraLrs: number[] }[];
  r: number;
  seeds: number[];
  extras: boolean;
  extraRanks: number[];
  extraFullLr: number;
  extraLoraLr: number;
  /** Sequences per step of the CPT arms (packed, every position a token), null = `finetune.microBatchSize`. */
  cptMicroBatchSize: number | null;
}): ArmConfig[] {
  const out: ArmConfig[] = [];
  for (const { task, domain, fullLrs, loraLrs } of o.conditions) {
    const c = `${task}-${domain}`;
    const batch = task === 'cpt' ? { microBatchSize: o.cptMicroBatchSize } : {};
    out.push(
      arm({ name: `${c}-full`, task, domain, method: 'full', lrSweep: fullLrs, seeds: o.seeds, ...batch }),
    );
    out.push(
      arm({
        name: `${c}-lora-r${o.r}`,
        task,
        domain,
        method: 'lora',
        r: o.r,
        lrSweep: loraLrs,
        seeds: o.seeds,
        ...batch,
      }),
    );
  }
  if (o.extras) {
    const { task, domain } = o.conditions[0]!;
    const c = `${task}-${domain}`;
    for (const r of o.extraRanks)
      out.push(arm({ name: `${c}-lora-r${r}`, task, domain, method: 'lora', r, lr: o.extraLoraLr }));
    const lr = o.extraFullLr;
    out.push(arm({ name: `${c}-full-wd`, task, domain, method: 'full', weightDecay: 0.1, lr }));
    out.push(arm({ name: `${c}-full-dropout`, task, domain, method: 'full', dropout: 0.1, lr }));
  }
  return out;
}

/**
 * The default experiment: the four conditions, a 3-point lr sweep per method with 2 seeds each, and the rank and
 * regulariser arms on IFT math: 44 units (IFT 40 steps, CPT 32), sized for 20 minutes on two idle CPU cores with
 * the shipped base. The scale knobs: `finetune.iftSteps`/`cptSteps`, `finetune.microBatchSize`, the `defaultArms` call below
 * (lrs, seeds, rank, extras) and the `eval` sizes.
 */
export const DEFAULT_EXPERIMENT: ExperimentConfig = {
  seed: 0,
  backend: 'auto',
  shippedBase: true,
  baseModel: null,
  tokenizer: SHIPPED_BASE_RECIPE.tokenizer,
  model: SHIPPED_BASE_RECIPE.model,
  data: {
    source: SHIPPED_BASE_RECIPE.data.source,
    sourceTest: null,
    sourceTestFraction: 0.1,
    mathTrain: SHIPPED_BASE_RECIPE.data.mathTrain,
    mathTest: { kind: 'math', split: 'test', count: 400, level: 'easy' },
    codeTrain: { kind: 'code-corpus', count: 2000 },
    // The code generator's `easy` level (a parameter `k` that the body names, see @loralab/data): at the `humaneval`
    // level this base cannot restate a prompt's constant within 40 steps and pass@1 stays 0 (the code-ift example).
    codeTest: { kind: 'code', split: 'test', count: 32, level: 'easy' },
    codeInstruct: { kind: 'code', split: 'train', count: 324, level: 'easy' },
    codeText: { kind: 'code-corpus', count: 2000, level: 'easy' },
    mathText: { kind: 'math', split: 'train', count: 4000, seed: 1, level: 'easy' },
  },
  pretrain: SHIPPED_BASE_RECIPE.pretrain,
  finetune: {
    optimizer: 'adamw',
    fullLr: 3e-4,
    loraLrMultiplier: 10,
    weightDecay: 0,
    loraDropout: 0.05,
    warmupRatio: 0.1,
    schedule: 'cosine',
    clipGradNorm: 1,
    // Long enough for a code task's prompt and whole solution; padded instruction rows cost only their real tokens.
    seqLen: 240,
    microBatchSize: 8,
    iftSteps: 40,
    cptSteps: 32,
    evalPoints: 3,
    chatTemplate: null,
  },
  // Three learning rates per method and condition, half a decade apart, centred on a pilot sweep of this base
  // (full 3e-4 to 1e-2, LoRA 1e-3 to 3e-2), so that each grid brackets the rate its validation loss chooses (1e-2
  // full loses to 3e-3 by a validation loss of 1.8-3.8 nats in all four conditions on this base, so the IFT full
  // grids' choice of their top rate, 3e-3, is the best of the half-decade grid).
  arms: defaultArms({
    conditions: [
      { task: 'ift', domain: 'math', fullLrs: [3e-4, 1e-3, 3e-3], loraLrs: [1e-3, 3e-3, 1e-2] },
      { task: 'ift', domain: 'code', fullLrs: [3e-4, 1e-3, 3e-3], loraLrs: [3e-3, 1e-2, 3e-2] },
      { task: 'cpt', domain: 'math', fullLrs: [1e-3, 3e-3, 1e-2], loraLrs: [3e-3, 1e-2, 3e-2] },
      { task: 'cpt', domain: 'code', fullLrs: [1e-3, 3e-3, 1e-2], loraLrs: [1e-3, 3e-3, 1e-2] },
    ],
    r: 16,
    seeds: [0, 1],
    extras: true,
    extraRanks: [1, 4],
    extraFullLr: 1e-3,
    extraLoraLr: 3e-3,
    cptMicroBatchSize: 4,
  }),
  eval: {
    validationItems: 12,
    mathProblems: 32,
    targetLossItems: 32,
    mathMaxNewTokens: 32,
    sourceDocs: 16,
    sourceDocChars: 600,
    choiceTasks: [...CHOICE_TASKS],
    choiceItems: 24,
    choices: 4,
    diversityPrompts: 4,
    diversitySamples: 5,
    temperature: 0.2,
    topP: 0.95,
    codeTasks: 16,
    codeMaxNewTokens: 96,
  },
  rank: { tau: 0.9 },
};

/** `--quick`: the same phases at smoke-test size (well under 3 minutes); its numbers carry little signal. */
export const QUICK_EXPERIMENT: ExperimentConfig = {
  ...DEFAULT_EXPERIMENT,
  finetune: { ...DEFAULT_EXPERIMENT.finetune, iftSteps: 12, cptSteps: 12, evalPoints: 2 },
  arms: defaultArms({
    conditions: [
      { task: 'ift', domain: 'math', fullLrs: [1e-3], loraLrs: [3e-3] },
      { task: 'cpt', domain: 'code', fullLrs: [1e-3], loraLrs: [3e-3] },
    ],
    r: 16,
    seeds: [0],
    extras: false,
    extraRanks: [],
    extraFullLr: 1e-3,
    extraLoraLr: 3e-3,
    cptMicroBatchSize: 4,
  }),
  eval: {
    ...DEFAULT_EXPERIMENT.eval,
    mathProblems: 12,
    targetLossItems: 16,
    sourceDocs: 8,
    choiceItems: 12,
    diversityPrompts: 3,
    diversitySamples: 4,
    codeTasks: 2,
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
  'data.codeInstruct',
  'data.codeText',
  'data.mathText',
  'arms',
]);
/** Keys that may be null although the preset value is not (or vice versa). */
const NULLABLE = new Set([
  'baseModel',
  'data.sourceTest',
  'data.codeText',
  'finetune.clipGradNorm',
  'finetune.chatTemplate',
]);

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

const ARM_KEYS = Object.keys(arm({ name: 'x', task: 'ift', method: 'full' }));

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
  const a = arm({ ...(raw as Partial<ArmConfig>), name, task, method });
  for (const k of ARM_KEYS)
    if ((a as unknown as Record<string, unknown>)[k] === undefined)
      (a as unknown as Record<string, unknown>)[k] = null;
  if (a.domain !== 'math' && a.domain !== 'code')
    throw new ConfigError(`${key}.domain`, `expected "math" or "code", found ${JSON.stringify(a.domain)}`);
  if (method === 'lora') positiveInt(a.r, `${key}.r`);
  else if (a.r !== null)
    throw new ConfigError(`${key}.r`, 'a rank is for method "lora" only; remove it or set method "lora"');
  if (a.alpha !== null) {
    if (method !== 'lora') throw new ConfigError(`${key}.alpha`, 'alpha is for method "lora" only');
    positive(a.alpha, `${key}.alpha`);
  }
  if (a.targetModules === null) a.targetModules = 'all';
  if (!['all', 'attention', 'mlp'].includes(a.targetModules)) {
    throw new ConfigError(
      `${key}.targetModules`,
      `expected "all", "attention" or "mlp", found ${JSON.stringify(a.targetModules)}`,
    );
  }
  if (method !== 'lora' && a.targetModules !== 'all')
    throw new ConfigError(`${key}.targetModules`, 'target modules are for method "lora" only');
  if (a.lr !== null) positive(a.lr, `${key}.lr`);
  if (a.lrSweep !== null) {
    if (a.lr !== null) throw new ConfigError(`${key}.lrSweep`, 'give lr or lrSweep, not both');
    if (!Array.isArray(a.lrSweep) || a.lrSweep.length === 0)
      throw new ConfigError(
        `${key}.lrSweep`,
        `expected a non-empty list of learning rates, found ${JSON.stringify(a.lrSweep)}`,
      );
    for (const [j, x] of a.lrSweep.entries()) positive(x, `${key}.lrSweep[${j}]`);
    if (new Set(a.lrSweep).size !== a.lrSweep.length)
      throw new ConfigError(`${key}.lrSweep`, `repeated learning rate in ${JSON.stringify(a.lrSweep)}`);
  }
  if (a.steps !== null) positiveInt(a.steps, `${key}.steps`);
  if (a.microBatchSize !== null) positiveInt(a.microBatchSize, `${key}.microBatchSize`);
  if (a.schedule !== null && !['cosine', 'linear', 'constant'].includes(a.schedule)) {
    throw new ConfigError(
      `${key}.schedule`,
      `expected "cosine", "linear", "constant" or null, found ${JSON.stringify(a.schedule)}`,
    );
  }
  if (a.weightDecay !== null) positive(a.weightDecay, `${key}.weightDecay`, true);
  fraction(a.dropout ?? 0, `${key}.dropout`);
  a.dropout ??= 0;
  if (a.seeds !== null) {
    if (!Array.isArray(a.seeds) || a.seeds.length === 0)
      throw new ConfigError(
        `${key}.seeds`,
        `expected a non-empty list of seeds or null, found ${JSON.stringify(a.seeds)}`,
      );
    for (const [j, x] of a.seeds.entries()) positiveInt(x, `${key}.seeds[${j}]`, 0);
    if (new Set(a.seeds).size !== a.seeds.length)
      throw new ConfigError(`${key}.seeds`, `repeated seed in ${JSON.stringify(a.seeds)}`);
  }
  return a;
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
  for (const k of [
    'source',
    'mathTrain',
    'mathTest',
    'codeTrain',
    'codeTest',
    'codeInstruct',
    'mathText',
  ] as const)
    c.data[k] = resolveSource(c.data[k], `data.${k}`);
  if (c.data.codeText !== null) c.data.codeText = resolveSource(c.data.codeText, 'data.codeText');
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
  if (!['cosine', 'linear', 'constant'].includes(f.schedule)) {
    throw new ConfigError(
      'finetune.schedule',
      `expected "cosine", "linear" or "constant", found ${JSON.stringify(f.schedule)}`,
    );
  }
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
    const steps = a.steps ?? (a.task === 'ift' ? f.iftSteps : f.cptSteps);
    if (steps === 0) {
      throw new ConfigError(
        `arms[${i}]`,
        `arm "${a.name}" has task ${a.task} but finetune.${a.task}Steps is 0; remove the arm or give it steps`,
      );
    }
  }

  const e = c.eval;
  for (const k of [
    'validationItems',
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
  if (!Array.isArray(e.choiceTasks) || e.choiceTasks.some((t) => !CHOICE_TASKS.includes(t))) {
    throw new ConfigError(
      'eval.choiceTasks',
      `expected a list of ${CHOICE_TASKS.join(', ')}, found ${JSON.stringify(e.choiceTasks)}`,
    );
  }
  if (new Set(e.choiceTasks).size !== e.choiceTasks.length)
    throw new ConfigError('eval.choiceTasks', `a task is listed twice: ${JSON.stringify(e.choiceTasks)}`);
  positive(e.temperature, 'eval.temperature', true);
  if (!(e.topP > 0 && e.topP <= 1))
    throw new ConfigError('eval.topP', `expected a number in (0, 1], found ${e.topP}`);
  if (!(c.rank.tau > 0 && c.rank.tau < 1))
    throw new ConfigError('rank.tau', `expected a number in (0, 1), found ${c.rank.tau}`);
  return c;
}
