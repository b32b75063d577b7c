// TrainConfig: one JSON-serialisable object for a whole training run (full finetuning or LoRA, continued
// pretraining or instruction finetuning). Defaults live in `TRAIN_CONFIG_DEFAULTS`; `resolveTrainConfig` rejects
// unknown keys at every level and checks every cross-field rule once.
import type { LoraConfig } from '@loralab/lora';
import { resolveLoraConfig } from '@loralab/lora';
import type { LlamaConfig } from '@loralab/model';
import { ConfigError } from './errors.js';
import { type GuardConfig, type ResolvedGuardConfig, resolveGuardConfig } from './guard.js';

/** Where the model comes from: a Hugging Face folder, or a random initialisation (pretraining from scratch). */
export type ModelSource = { path: string } | { init: Partial<LlamaConfig>; seed?: number };

export interface DataConfig {
  /** Folder of the tokenized training set (@loralab/data shards + manifest.json). Required. */
  train: string;
  /** Folder of the held-out set for the built-in eval loss, or null for none (default null). */
  eval?: string | null;
  /** Tokens per sample fed to the model; every sample trains seqLen target tokens. Required. */
  seqLen: number;
  /** Samples per micro-batch (one forward/backward). Required. */
  microBatchSize: number;
  /** Shuffle the training samples (deterministically from `seed`) (default true). */
  shuffle?: boolean;
  /** Passes over the training set, or null (default null: bounded by the top-level `steps`/`maxTokens`/`epochs`). */
  epochs?: number | null;
  /** Samples per shuffle block of the loader (memory: one block) (default 4096). */
  shuffleBlock?: number;
}

export interface OptimizerConfig {
  /** `adamw` (torch.optim.AdamW) or `lion` (Lion with decoupled weight decay, "LionW"). */
  name: 'adamw' | 'lion';
  /** Peak learning rate. Required. */
  lr: number;
  /** β₁ (default 0.9 for both). */
  beta1?: number;
  /** β₂ (default 0.999 for adamw, 0.95 for lion as in the paper). */
  beta2?: number;
  /** AdamW's denominator epsilon (default 1e-8; adamw only: 0 for lion). */
  eps?: number;
  /** Decoupled weight decay λ: p ← p·(1 − lr·λ) each step (default 0). */
  weightDecay?: number;
  /**
   * Parameters without weight decay: a parameter is excluded when its name contains one of these strings
   * (default `["norm.weight", ".bias"]`: every RMSNorm weight and bias).
   */
  noDecay?: string[];
}

export interface ScheduleConfig {
  /**
   * `cosine`: warmup, then half a cosine from lr to minLrRatio·lr at the last step; `linear`: warmup, then linear to
   * minLrRatio·lr; `constant`: warmup, then lr; `inverse-sqrt`: warmup, then lr·√(timescale / (s + timescale − W)).
   * `constant` and `inverse-sqrt` may end with a linear cooldown to minLrRatio·lr.
   */
  name: 'cosine' | 'linear' | 'constant' | 'inverse-sqrt';
  /** Warmup steps W (linear from 0) (default 0; exclusive with warmupRatio). */
  warmupSteps?: number;
  /** Warmup as a fraction of the total steps (default 0; exclusive with warmupSteps). */
  warmupRatio?: number;
  /** Floor of cosine/linear/cooldown as a fraction of lr (default 0). */
  minLrRatio?: number;
  /** Final linear cooldown steps of `constant`/`inverse-sqrt` (default 0; exclusive with cooldownRatio). */
  cooldownSteps?: number;
  /** Final cooldown as a fraction of the total steps (default 0; exclusive with cooldownSteps). */
  cooldownRatio?: number;
  /** `inverse-sqrt` timescale in steps (default: the warmup steps, or 10000 without warmup, as Hugging Face). */
  timescale?: number | null;
}

export interface TrainConfig {
  /** The run folder (created; see the README for its layout). Required. */
  outputDir: string;
  /** `full`: every parameter trains; `lora`: adapter parameters and `modules_to_save` only. */
  method: 'full' | 'lora';
  /** `cpt`: packed token shards; `ift`: instruction shards, one row per sample, loss on masked tokens only. */
  task: 'cpt' | 'ift';
  /** The base model. Required. */
  model: ModelSource;
  /** @loralab/lora's LoraConfig (PEFT field names); method `lora` only (default {}: PEFT's defaults). */
  lora?: Partial<LoraConfig>;
  /** Full finetuning: freeze `model.embed_tokens.weight` (a tied head freezes with it) (default false). */
  freezeEmbeddings?: boolean;
  /** Full finetuning: freeze `lm_head.weight` (default false). */
  freezeLmHead?: boolean;
  /** Dropout during training, written into the model config (attention_dropout, residual_dropout); default: the model's. */
  dropout?: { attention?: number; residual?: number };
  /** The data. Required. */
  data: DataConfig;
  /**
   * Optimizer steps (default null). Without `epochs` the data repeats (epoch after epoch, reshuffled) until this many
   * steps are done, as Hugging Face's `max_steps`; with `epochs` set, steps beyond what the epochs give are refused
   * (ConfigError stating the epoch length), never silently cut. With `maxTokens` too, whichever comes first.
   */
  steps?: number | null;
  /** Stop once this many real tokens were seen (default null); beyond what `epochs` give is refused, as `steps`. */
  maxTokens?: number | null;
  /** Passes over the training set (default null; 1 when steps, maxTokens and data.epochs are all null). */
  epochs?: number | null;
  /** Micro-batches per optimizer step (default 1). */
  gradAccumulation?: number;
  /** The optimizer. Required. */
  optimizer: OptimizerConfig;
  /** LoRA+ (Hayou et al. 2024): B matrices get lr · ratio (default null: off; method `lora` only). */
  loraPlusRatio?: number | null;
  /** The learning-rate schedule. Required. */
  schedule: ScheduleConfig;
  /** Clip gradients to this global L2 norm, or null for none (default 1.0). */
  clipGradNorm?: number | null;
  /** Seed of data order, dropout masks and LoRA initialisation (default 0). */
  seed?: number;
  /** Write a metrics line every N steps (default 10; the last step is always logged). */
  logEvery?: number;
  /** Held-out loss and evaluators every N steps, or null for only at the end (default null). */
  evalEvery?: number | null;
  /** Micro-batches of the eval set per held-out loss, or null for all of it (default 16). */
  evalBatches?: number | null;
  /** Checkpoint every N steps, or null for only at the end (default null). */
  saveEvery?: number | null;
  /** Checkpoints kept in `checkpoints/` (oldest removed first) (default 2). */
  keepLast?: number;
  /**
   * Storage dtype of the weights in checkpoints and `final/` (model or adapter): `F32` (default: a resume continues
   * exactly), `BF16` or `F16` (half the disk; a resume continues from the rounded weights). Optimizer moments stay F32.
   */
  saveDtype?: 'F32' | 'BF16' | 'F16';
  /** `auto`: continue from the newest checkpoint in outputDir if any; a path: from that checkpoint; null: fresh (default null). */
  resume?: 'auto' | string | null;
  /** Backend for @loralab/model's initBackend (`auto`, `native`, `wasm`, `cpu`, ...) (default `auto`: env LORALAB_BACKEND, else the best available). */
  backend?: string;
  /** Recompute each block in backward (less activation memory, ~1 more forward) (default true). */
  gradientCheckpointing?: boolean;
  /**
   * Precision of the matrix products (default `fp32`). `bf16`: mixed precision on the native backend, as PyTorch CPU
   * `torch.autocast(dtype=torch.bfloat16)` for the matmuls: both operands of every projection, LoRA and lm_head product
   * (forward and backward) rounded to bfloat16, sums and outputs fp32; weights, optimizer state, norms, softmax, the
   * fused attention and loss stay fp32. Needs backend `native` (`auto` must pick it): any other backend is a ConfigError at the
   * start of `train`. On a CPU without AVX-512 BF16 it warns once and trains in fp32.
   */
  precision?: 'fp32' | 'bf16';
  /** The divergence and collapse guard (see guard.ts and the README) (default {}: every check on, default bounds). */
  guard?: GuardConfig;
}

/** Every field present; nested objects complete. */
export interface ResolvedTrainConfig {
  outputDir: string;
  method: 'full' | 'lora';
  task: 'cpt' | 'ift';
  model: ModelSource;
  lora: Partial<LoraConfig>;
  freezeEmbeddings: boolean;
  freezeLmHead: boolean;
  dropout: { attention?: number; residual?: number };
  data: Required<Omit<DataConfig, 'eval' | 'epochs'>> & { eval: string | null; epochs: number | null };
  steps: number | null;
  maxTokens: number | null;
  epochs: number | null;
  gradAccumulation: number;
  optimizer: Required<OptimizerConfig>;
  loraPlusRatio: number | null;
  schedule: Required<ScheduleConfig>;
  clipGradNorm: number | null;
  seed: number;
  logEvery: number;
  evalEvery: number | null;
  evalBatches: number | null;
  saveEvery: number | null;
  keepLast: number;
  saveDtype: 'F32' | 'BF16' | 'F16';
  resume: 'auto' | string | null;
  backend: string;
  gradientCheckpointing: boolean;
  precision: 'fp32' | 'bf16';
  guard: ResolvedGuardConfig;
}

/** Defaults of every optional top-level field. */
export const TRAIN_CONFIG_DEFAULTS = {
  lora: {},
  freezeEmbeddings: false,
  freezeLmHead: false,
  dropout: {},
  steps: null,
  maxTokens: null,
  epochs: null,
  gradAccumulation: 1,
  loraPlusRatio: null,
  clipGradNorm: 1.0,
  seed: 0,
  logEvery: 10,
  evalEvery: null,
  evalBatches: 16,
  saveEvery: null,
  keepLast: 2,
  saveDtype: 'F32',
  resume: null,
  backend: 'auto',
  gradientCheckpointing: true,
  precision: 'fp32',
  guard: {},
} as const;

export const DATA_CONFIG_DEFAULTS = { eval: null, shuffle: true, epochs: null, shuffleBlock: 4096 } as const;

export const OPTIMIZER_DEFAULTS = {
  adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, noDecay: ['norm.weight', '.bias'] },
  lion: { beta1: 0.9, beta2: 0.95, eps: 0, weightDecay: 0, noDecay: ['norm.weight', '.bias'] },
} as const;

export const SCHEDULE_DEFAULTS = {
  warmupSteps: 0,
  warmupRatio: 0,
  minLrRatio: 0,
  cooldownSteps: 0,
  cooldownRatio: 0,
  timescale: null,
} as const;

const REQUIRED = ['outputDir', 'method', 'task', 'model', 'data', 'optimizer', 'schedule'] as const;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(key: string, expected: string, found: unknown): never {
  throw new ConfigError(
    `TrainConfig.${key} must be ${expected}, found ${JSON.stringify(found) ?? String(found)}`,
    key,
    found,
  );
}

function checkKeys(obj: Obj, known: readonly string[], where: string): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) {
      const key = where ? `${where}.${k}` : k;
      throw new ConfigError(
        `TrainConfig: unknown key '${key}'; known keys${where ? ` of ${where}` : ''}: ${known.join(', ')}`,
        key,
        obj[k],
      );
    }
  }
}

/** Drops keys whose value is `undefined`, so spreading optional fields keeps the defaults. */
function defined(obj: Obj): Obj {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}

const posInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1;
const nonNegInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function optPosInt(c: Obj, key: string, where = ''): void {
  const v = c[key];
  if (v !== null && !posInt(v)) fail(`${where}${key}`, 'a positive integer or null', v);
}

/** Applies the defaults and checks every field and cross-field rule; throws `ConfigError` naming the key. */
export function resolveTrainConfig(config: TrainConfig): ResolvedTrainConfig {
  if (!isObj(config)) fail('(root)', 'an object', config);
  const raw = config as unknown as Obj;
  checkKeys(raw, [...REQUIRED, ...Object.keys(TRAIN_CONFIG_DEFAULTS)], '');
  for (const k of REQUIRED) if (raw[k] === undefined) fail(k, 'given (required)', undefined);
  const c = { ...TRAIN_CONFIG_DEFAULTS, ...defined(raw) } as Obj;

  if (typeof c.outputDir !== 'string' || c.outputDir === '')
    fail('outputDir', 'a non-empty path', c.outputDir);
  if (c.method !== 'full' && c.method !== 'lora') fail('method', '"full" or "lora"', c.method);
  if (c.task !== 'cpt' && c.task !== 'ift') fail('task', '"cpt" or "ift"', c.task);

  // model
  const model = c.model;
  if (!isObj(model)) fail('model', '{ path } or { init, seed? }', model);
  if ('path' in model) {
    checkKeys(model, ['path'], 'model');
    if (typeof model.path !== 'string' || model.path === '') fail('model.path', 'a folder path', model.path);
  } else if ('init' in model) {
    checkKeys(model, ['init', 'seed'], 'model');
    if (!isObj(model.init)) fail('model.init', 'a (partial) LlamaConfig object', model.init);
    if (model.seed !== undefined && !nonNegInt(model.seed)) fail('model.seed', 'an integer >= 0', model.seed);
  } else fail('model', '{ path } or { init, seed? }', model);

  // lora
  if (!isObj(c.lora)) fail('lora', 'an object (LoraConfig fields)', c.lora);
  if (c.method === 'full' && Object.keys(c.lora).length > 0)
    fail('lora', 'absent or {} with method "full" (set method: "lora")', c.lora);
  if (c.method === 'lora') {
    try {
      resolveLoraConfig(c.lora, { source: 'TrainConfig.lora', onWarning: () => {} });
    } catch (e) {
      const key = (e as ConfigError).key ?? '';
      throw new ConfigError(`TrainConfig.lora: ${(e as Error).message}`, `lora.${key}`, c.lora, { cause: e });
    }
  }
  for (const k of ['freezeEmbeddings', 'freezeLmHead', 'gradientCheckpointing'] as const) {
    if (typeof c[k] !== 'boolean') fail(k, 'true or false', c[k]);
  }
  if (c.method === 'lora' && (c.freezeEmbeddings || c.freezeLmHead))
    fail(
      'freezeEmbeddings',
      'false with method "lora" (LoRA freezes the whole base; use lora.modules_to_save)',
      true,
    );

  // dropout
  const dropout = c.dropout;
  if (!isObj(dropout)) fail('dropout', 'an object { attention?, residual? }', dropout);
  checkKeys(dropout, ['attention', 'residual'], 'dropout');
  for (const k of ['attention', 'residual'] as const) {
    const v = dropout[k];
    if (v !== undefined && !(finite(v) && v >= 0 && v < 1)) fail(`dropout.${k}`, 'a number in [0, 1)', v);
  }

  // data
  if (!isObj(c.data)) fail('data', 'an object { train, seqLen, microBatchSize, ... }', c.data);
  checkKeys(c.data, ['train', 'seqLen', 'microBatchSize', ...Object.keys(DATA_CONFIG_DEFAULTS)], 'data');
  const data = { ...DATA_CONFIG_DEFAULTS, ...defined(c.data) } as Obj;
  if (typeof data.train !== 'string' || data.train === '') fail('data.train', 'a dataset folder', data.train);
  if (data.eval !== null && (typeof data.eval !== 'string' || data.eval === ''))
    fail('data.eval', 'a dataset folder or null', data.eval);
  for (const k of ['seqLen', 'microBatchSize', 'shuffleBlock'] as const)
    if (!posInt(data[k])) fail(`data.${k}`, 'a positive integer', data[k]);
  if (typeof data.shuffle !== 'boolean') fail('data.shuffle', 'true or false', data.shuffle);
  optPosInt(data, 'epochs', 'data.');

  // length of the run
  optPosInt(c, 'steps');
  optPosInt(c, 'maxTokens');
  optPosInt(c, 'epochs');
  if (c.epochs !== null && data.epochs !== null && c.epochs !== data.epochs)
    fail('epochs', `equal to data.epochs (${data.epochs}) when both are set`, c.epochs);
  if (c.steps === null && c.maxTokens === null && c.epochs === null && data.epochs === null) c.epochs = 1;
  if (!posInt(c.gradAccumulation)) fail('gradAccumulation', 'a positive integer', c.gradAccumulation);

  // optimizer
  const opt = c.optimizer;
  if (!isObj(opt)) fail('optimizer', 'an object { name, lr, ... }', opt);
  checkKeys(opt, ['name', 'lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'noDecay'], 'optimizer');
  if (opt.name !== 'adamw' && opt.name !== 'lion') fail('optimizer.name', '"adamw" or "lion"', opt.name);
  if (opt.name === 'lion' && opt.eps !== undefined && opt.eps !== 0)
    fail('optimizer.eps', 'absent (or 0) with lion: it applies to adamw only', opt.eps);
  const optimizer = { ...OPTIMIZER_DEFAULTS[opt.name], ...defined(opt) } as Obj;
  if (!(finite(optimizer.lr) && optimizer.lr > 0)) fail('optimizer.lr', 'a positive number', optimizer.lr);
  for (const k of ['beta1', 'beta2'] as const) {
    const v = optimizer[k];
    if (!(finite(v) && v >= 0 && v < 1)) fail(`optimizer.${k}`, 'a number in [0, 1)', v);
  }
  if (!(finite(optimizer.eps) && optimizer.eps >= 0)) fail('optimizer.eps', 'a number >= 0', optimizer.eps);
  if (!(finite(optimizer.weightDecay) && optimizer.weightDecay >= 0))
    fail('optimizer.weightDecay', 'a number >= 0', optimizer.weightDecay);
  const nd = optimizer.noDecay;
  if (!Array.isArray(nd) || nd.some((p) => typeof p !== 'string' || p === ''))
    fail('optimizer.noDecay', 'an array of non-empty name substrings', nd);
  optimizer.noDecay = [...nd];

  if (c.loraPlusRatio !== null) {
    if (!(finite(c.loraPlusRatio) && c.loraPlusRatio > 0))
      fail('loraPlusRatio', 'a positive number or null', c.loraPlusRatio);
    if (c.method !== 'lora')
      fail('loraPlusRatio', 'null with method "full" (LoRA+ scales the lr of lora_B)', c.loraPlusRatio);
  }

  // schedule
  const sch = c.schedule;
  if (!isObj(sch)) fail('schedule', 'an object { name, ... }', sch);
  checkKeys(sch, ['name', ...Object.keys(SCHEDULE_DEFAULTS)], 'schedule');
  if (!['cosine', 'linear', 'constant', 'inverse-sqrt'].includes(sch.name as string))
    fail('schedule.name', '"cosine", "linear", "constant" or "inverse-sqrt"', sch.name);
  const schedule = { ...SCHEDULE_DEFAULTS, ...defined(sch) } as Obj;
  for (const k of ['warmupSteps', 'cooldownSteps'] as const)
    if (!nonNegInt(schedule[k])) fail(`schedule.${k}`, 'an integer >= 0', schedule[k]);
  for (const k of ['warmupRatio', 'cooldownRatio', 'minLrRatio'] as const) {
    const v = schedule[k];
    if (!(finite(v) && v >= 0 && v <= 1)) fail(`schedule.${k}`, 'a number in [0, 1]', v);
  }
  if ((schedule.warmupSteps as number) > 0 && (schedule.warmupRatio as number) > 0)
    fail(
      'schedule.warmupRatio',
      '0 when schedule.warmupSteps is set (give one of them)',
      schedule.warmupRatio,
    );
  if ((schedule.cooldownSteps as number) > 0 && (schedule.cooldownRatio as number) > 0)
    fail(
      'schedule.cooldownRatio',
      '0 when schedule.cooldownSteps is set (give one of them)',
      schedule.cooldownRatio,
    );
  const cooldown = (schedule.cooldownSteps as number) > 0 || (schedule.cooldownRatio as number) > 0;
  if (cooldown && (sch.name === 'cosine' || sch.name === 'linear'))
    fail(
      'schedule.cooldownSteps',
      `0 with schedule "${sch.name}" (it decays on its own)`,
      schedule.cooldownSteps,
    );
  if (schedule.timescale !== null) {
    if (!posInt(schedule.timescale))
      fail('schedule.timescale', 'a positive integer or null', schedule.timescale);
    if (sch.name !== 'inverse-sqrt')
      fail('schedule.timescale', 'null unless schedule "inverse-sqrt"', schedule.timescale);
  }

  if (c.clipGradNorm !== null && !(finite(c.clipGradNorm) && c.clipGradNorm > 0))
    fail('clipGradNorm', 'a positive number or null', c.clipGradNorm);
  if (!nonNegInt(c.seed)) fail('seed', 'an integer >= 0', c.seed);
  if (!posInt(c.logEvery)) fail('logEvery', 'a positive integer', c.logEvery);
  optPosInt(c, 'evalEvery');
  optPosInt(c, 'evalBatches');
  optPosInt(c, 'saveEvery');
  if (!posInt(c.keepLast)) fail('keepLast', 'a positive integer', c.keepLast);
  if (!['F32', 'BF16', 'F16'].includes(c.saveDtype as string))
    fail('saveDtype', '"F32", "BF16" or "F16"', c.saveDtype);
  if (c.resume !== null && (typeof c.resume !== 'string' || c.resume === ''))
    fail('resume', '"auto", a checkpoint folder or null', c.resume);
  if (typeof c.backend !== 'string' || c.backend === '')
    fail('backend', 'a backend name such as "auto"', c.backend);
  if (c.precision !== 'fp32' && c.precision !== 'bf16') fail('precision', '"fp32" or "bf16"', c.precision);
  if (c.precision === 'bf16' && !['auto', 'native'].includes(c.backend))
    fail(
      'precision',
      `"fp32" with backend "${c.backend}" (bf16 products exist on "native" only)`,
      c.precision,
    );

  const guard = resolveGuardConfig(c.guard);

  return structuredClone({ ...c, data, optimizer, schedule, guard }) as unknown as ResolvedTrainConfig;
}
