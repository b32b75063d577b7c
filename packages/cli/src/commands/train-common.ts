// What `pretrain` and `finetune` share: the training flags as TrainConfig keys, running @loralab/train's train()
// with progress from its metrics, and the closing summary.
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainConfig } from '@loralab/train';
import type { ConfigObject } from '../config-file.js';
import { ConfigError } from '../errors.js';
import { formatCount, formatDuration } from '../progress.js';
import {
  BACKEND_OPTION,
  type CommandContext,
  choiceFlag,
  numberFlag,
  type OptionSpec,
  stringFlag,
} from './command.js';

export const TRAIN_OPTIONS: Record<string, OptionSpec> = {
  data: {
    type: 'string',
    short: 'd',
    value: 'DIR',
    description: 'tokenized training set (data prepare output)',
  },
  'eval-data': { type: 'string', value: 'DIR', description: 'tokenized held-out set for the eval loss' },
  output: {
    type: 'string',
    short: 'o',
    value: 'DIR',
    description: 'run folder (checkpoints, metrics.jsonl, final/)',
  },
  'seq-len': { type: 'string', value: 'N', description: 'tokens per sample' },
  'batch-size': { type: 'string', value: 'N', description: 'samples per micro-batch' },
  'grad-accumulation': {
    type: 'string',
    value: 'N',
    description: 'micro-batches per optimizer step (default 1)',
  },
  steps: {
    type: 'string',
    value: 'N',
    description: 'optimizer steps (the data repeats past its end, as HF max_steps)',
  },
  epochs: {
    type: 'string',
    value: 'N',
    description: 'passes over the training set (with --steps: steps beyond them are refused)',
  },
  'max-tokens': { type: 'string', value: 'N', description: 'stop after this many tokens' },
  optimizer: { type: 'string', value: 'NAME', description: 'adamw or lion' },
  lr: { type: 'string', value: 'LR', description: 'peak learning rate' },
  'weight-decay': { type: 'string', value: 'WD', description: 'decoupled weight decay' },
  schedule: { type: 'string', value: 'NAME', description: 'cosine, linear, constant or inverse-sqrt' },
  'warmup-ratio': { type: 'string', value: 'R', description: 'warmup as a fraction of the steps' },
  seed: {
    type: 'string',
    value: 'N',
    description: 'seed of data order, dropout and initialisation (default 0)',
  },
  'log-every': { type: 'string', value: 'N', description: 'a metrics line every N steps (default 10)' },
  'eval-every': {
    type: 'string',
    value: 'N',
    description: 'held-out loss every N steps (default: at the end)',
  },
  'save-every': { type: 'string', value: 'N', description: 'checkpoint every N steps (default: at the end)' },
  resume: {
    type: 'string',
    value: 'auto|DIR',
    description: 'continue from the newest checkpoint (auto) or one folder',
  },
  backend: BACKEND_OPTION,
  precision: {
    type: 'string',
    value: 'fp32|bf16',
    description:
      'matmul precision (default fp32); bf16: mixed precision on the native backend (AVX-512 BF16)',
  },
};

/** The training flags as a partial TrainConfig (undefined where not given). */
export function trainFlags(ctx: CommandContext): ConfigObject {
  const int = (name: string, min = 1) => numberFlag(ctx, name, { integer: true, min });
  const num = (name: string) => numberFlag(ctx, name, { min: 0 });
  const optimizer = {
    name: choiceFlag(ctx, 'optimizer', ['adamw', 'lion'] as const),
    lr: numberFlag(ctx, 'lr', { positive: true }),
    weightDecay: num('weight-decay'),
  };
  const schedule = {
    name: choiceFlag(ctx, 'schedule', ['cosine', 'linear', 'constant', 'inverse-sqrt'] as const),
    warmupRatio: numberFlag(ctx, 'warmup-ratio', { min: 0, max: 1 }),
  };
  return {
    outputDir: stringFlag(ctx, 'output'),
    data: {
      train: stringFlag(ctx, 'data'),
      eval: stringFlag(ctx, 'eval-data'),
      seqLen: int('seq-len'),
      microBatchSize: int('batch-size'),
    },
    gradAccumulation: int('grad-accumulation'),
    steps: int('steps'),
    epochs: int('epochs'),
    maxTokens: int('max-tokens'),
    optimizer,
    schedule,
    seed: int('seed', 0),
    logEvery: int('log-every'),
    evalEvery: int('eval-every'),
    saveEvery: int('save-every'),
    resume: stringFlag(ctx, 'resume'),
    backend: stringFlag(ctx, 'backend'),
    precision: choiceFlag(ctx, 'precision', ['fp32', 'bf16'] as const),
  };
}

/** Copies tokenizer.json and tokenizer_config.json from `from` into `to` when present, so `to` is self-contained. */
export function copyTokenizer(from: string, to: string): boolean {
  if (!existsSync(join(from, 'tokenizer.json'))) return false;
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    if (existsSync(join(from, f))) copyFileSync(join(from, f), join(to, f));
  }
  return true;
}

/** Runs train() with the command's reporter: a progress bar over the steps, a log line per metrics record. */
export async function runTraining(ctx: CommandContext, config: TrainConfig): Promise<number> {
  const { resolveTrainConfig, train } = await import('@loralab/train');
  const resolved = resolveTrainConfig(config);
  // train() computes the total from the data when only epochs bound the run; it records it in config.json.
  let totalSteps: number | null = resolved.steps;
  const readTotal = () => {
    try {
      const written = JSON.parse(readFileSync(join(resolved.outputDir, 'config.json'), 'utf8')) as {
        totalSteps?: number;
      };
      if (typeof written.totalSteps === 'number') totalSteps = written.totalSteps;
    } catch {
      // not written yet
    }
  };
  const t0 = performance.now();
  ctx.reporter.log(
    `${resolved.method === 'lora' ? 'LoRA' : 'full'} ${resolved.task === 'cpt' ? 'continued pretraining' : 'instruction finetuning'} -> ${resolved.outputDir}`,
  );
  ctx.reporter.progress('training', 0, totalSteps);
  const result = await train(resolved, {
    progress: false,
    signal: ctx.signal,
    onLog: (r) => {
      if (r.step > 0 && totalSteps === resolved.steps) readTotal();
      const loss = r.loss !== undefined ? ` loss ${r.loss.toFixed(4)}` : '';
      const evalLoss = r['eval/loss'] !== undefined ? ` eval/loss ${r['eval/loss'].toFixed(4)}` : '';
      const lr = r.lr !== undefined ? ` lr ${r.lr.toExponential(2)}` : '';
      const speed = r.tokens_per_s !== undefined ? ` ${formatCount(r.tokens_per_s)} tok/s` : '';
      if (ctx.verbose || evalLoss) ctx.reporter.log(`step ${r.step}${loss}${evalLoss}${lr}${speed}`);
      ctx.reporter.progress('training', r.step, totalSteps);
    },
  });
  ctx.reporter.done('training');
  const evalLoss = result.finalEvalLoss !== null ? `, eval loss ${result.finalEvalLoss.toFixed(4)}` : '';
  const resumed = result.resumedFrom ? ` (resumed from ${result.resumedFrom})` : '';
  // More than one pass over the data says so: "trained 39 steps (2.17 epochs of 18 steps), ...".
  const epochs =
    result.epochs > 1 ? ` (${result.epochs.toFixed(2)} epochs of ${result.stepsPerEpoch} steps)` : '';
  ctx.out(
    `trained ${result.steps} steps${epochs}, ${formatCount(result.tokensSeen)} tokens in ${formatDuration((performance.now() - t0) / 1000)}${resumed}: loss ${result.finalLoss.toFixed(4)}${evalLoss} -> ${result.finalDir}`,
  );
  return 0;
}

/** A Llama config from a JSON/YAML file (a Hugging Face config.json works). */
export function readModelConfig(file: string): ConfigObject {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ConfigObject;
  } catch (cause) {
    throw new ConfigError('model.init', `cannot read the model config: ${(cause as Error).message}`, {
      file,
      cause,
    });
  }
}
