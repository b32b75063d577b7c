// `loralab finetune`: full finetuning or LoRA of a model folder, continued pretraining (packed token shards) or
// instruction finetuning (rows with loss masks), through @loralab/train's one trainer.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainConfig } from '@loralab/train';
import { UsageError } from '../errors.js';
import { buildConfig, type CommandSpec, choiceFlag, listFlag, numberFlag, stringFlag } from './command.js';
import { copyTokenizer, runTraining, TRAIN_OPTIONS, trainFlags } from './train-common.js';

/** Defaults of `loralab finetune` by method: LoRA's learning rate is 10x the full one (Biderman et al. 2024, §4). */
export const FINETUNE_DEFAULTS = {
  full: { optimizer: { name: 'adamw', lr: 1e-4 } },
  lora: {
    optimizer: { name: 'adamw', lr: 1e-3 },
    lora: { r: 16, lora_alpha: 32, lora_dropout: 0.05, target_modules: 'all-linear' },
  },
  common: {
    data: { seqLen: 256, microBatchSize: 8 },
    schedule: { name: 'cosine', warmupRatio: 0.1 },
    // No epochs here: @loralab/train trains one epoch when nothing else bounds the run, and --steps alone repeats
    // the data until that many steps (an epochs default would silently cut --steps at the end of the data).
    resume: 'auto',
  },
} as const;

export const finetune: CommandSpec = {
  path: ['finetune'],
  summary:
    'full finetuning or LoRA of a model folder: continued pretraining (cpt) or instruction finetuning (ift)',
  usage: '[options] --method full|lora --task cpt|ift --model DIR --data DIR --output DIR',
  description: `The config is @loralab/train's TrainConfig ("lora" holds @loralab/lora's LoraConfig with PEFT's field names).
Defaults: AdamW with lr 1e-4 (full) or 1e-3 (lora: 10x), cosine with 10% warmup, one epoch, seq-len 256, batch 8;
LoRA r 16, alpha 2r, dropout 0.05 on all linear modules. --weight-decay and --dropout give the regularised
full-finetuning baselines. final/ is a model folder (full) or a PEFT adapter folder (lora). Reruns resume.`,
  options: {
    method: { type: 'string', value: 'full|lora', description: 'full finetuning or LoRA' },
    task: {
      type: 'string',
      value: 'cpt|ift',
      description: 'continued pretraining (packed) or instruction finetuning (masked rows)',
    },
    model: { type: 'string', short: 'm', value: 'DIR', description: 'the base model folder' },
    rank: { type: 'string', short: 'r', value: 'R', description: 'lora: rank r (default 16)' },
    alpha: { type: 'string', value: 'A', description: 'lora: lora_alpha (default 2r)' },
    'lora-dropout': {
      type: 'string',
      value: 'P',
      description: 'lora: dropout on the adapter input (default 0.05)',
    },
    'target-modules': {
      type: 'string',
      value: 'M,..',
      description: 'lora: modules to adapt (default all-linear)',
    },
    dropout: {
      type: 'string',
      value: 'P',
      description: 'full: attention and residual dropout (regulariser baseline)',
    },
    ...TRAIN_OPTIONS,
  },
  config: true,
  graceful: true,
  positionals: { min: 0, max: 0 },
  examples: [
    'loralab finetune --method lora --task ift --model runs/base/final --data data/math-ift --rank 16 --output runs/lora-r16',
    'loralab finetune --method full --task cpt --model runs/base/final --data data/code --weight-decay 0.1 --output runs/fft-wd',
    'loralab finetune -c finetune.yaml --set lora.r=64 --set lora.lora_alpha=128',
  ],
  async run(ctx) {
    const method = choiceFlag(ctx, 'method', ['full', 'lora'] as const);
    const task = choiceFlag(ctx, 'task', ['cpt', 'ift'] as const);
    const r = numberFlag(ctx, 'rank', { integer: true, min: 1 });
    const alpha = numberFlag(ctx, 'alpha', { positive: true });
    const dropout = numberFlag(ctx, 'dropout', { min: 0, max: 1, belowMax: true });
    const targets = listFlag(ctx, 'target-modules');
    const model = stringFlag(ctx, 'model');
    const lora = {
      r,
      lora_alpha: alpha ?? (r !== undefined ? 2 * r : undefined),
      lora_dropout: numberFlag(ctx, 'lora-dropout', { min: 0, max: 1, belowMax: true }),
      target_modules:
        targets && (targets.length === 1 && targets[0] === 'all-linear' ? 'all-linear' : targets),
    };
    const flags = {
      ...trainFlags(ctx),
      method,
      task,
      model: model !== undefined ? { path: model } : undefined,
      lora: Object.values(lora).some((v) => v !== undefined) ? lora : undefined,
      dropout: dropout !== undefined ? { attention: dropout, residual: dropout } : undefined,
    };
    // The method decides the defaults, so find it first: the flag, else the config file, else --set.
    const probe = buildConfig(ctx, { flags: { method, task } });
    const m = probe.method;
    if (m !== 'full' && m !== 'lora') throw new UsageError('missing --method full|lora', 'finetune');
    if (probe.task !== 'cpt' && probe.task !== 'ift')
      throw new UsageError('missing --task cpt|ift', 'finetune');
    const defaults = { ...FINETUNE_DEFAULTS.common, ...FINETUNE_DEFAULTS[m] };
    const config = buildConfig(ctx, {
      defaults: structuredClone(defaults) as Record<string, unknown>,
      flags,
      replace: ['model'],
    }) as unknown as TrainConfig;
    if (!config.model) throw new UsageError('missing --model DIR', 'finetune');
    if (!config.outputDir) throw new UsageError('missing --output DIR', 'finetune');
    if (!config.data?.train) throw new UsageError('missing --data DIR', 'finetune');
    const code = await runTraining(ctx, config);
    const finalDir = join(config.outputDir, 'final');
    // A full finetune's final/ is a model folder: give it the base's tokenizer when train() did not.
    if (
      m === 'full' &&
      'path' in config.model &&
      existsSync(finalDir) &&
      !existsSync(join(finalDir, 'tokenizer.json'))
    ) {
      copyTokenizer(config.model.path, finalDir);
    }
    return code;
  },
};
