// Phase 3: one finetuning arm (Biderman et al. 2024, §3): full finetuning or LoRA on all linear modules
// (alpha = 2r, lr × loraLrMultiplier), with the same data order, seed and schedule in every arm; evaluated at
// `finetune.evalPoints` points along the way (cheap metrics) and fully at the end.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Tokenizer } from '@loralab/tokenizer';
import type { TrainConfig } from '@loralab/train';
import { train } from '@loralab/train';
import type { ArmConfig, ExperimentConfig } from './config.js';
import { ExperimentError } from './errors.js';
import { type EvalSets, evaluateModel } from './evaluation.js';
import type { TrainingSets } from './prepare-data.js';
import type { CurvePoint, EvalPoint, ItemValues } from './results.js';

/** The trainer config of an arm: everything but the method's own settings is identical across arms of a task. */
export function armTrainConfig(
  config: ExperimentConfig,
  arm: ArmConfig,
  baseDir: string,
  sets: TrainingSets,
  outputDir: string,
): TrainConfig {
  const f = config.finetune;
  const steps = arm.task === 'ift' ? f.iftSteps : f.cptSteps;
  const lr = arm.method === 'lora' ? f.fullLr * f.loraLrMultiplier : f.fullLr;
  const weightDecay = arm.weightDecay ?? f.weightDecay;
  const lion = f.optimizer === 'lion';
  return {
    outputDir,
    method: arm.method,
    task: arm.task,
    model: { path: baseDir },
    ...(arm.method === 'lora'
      ? {
          lora: {
            r: arm.r!,
            lora_alpha: arm.alpha ?? 2 * arm.r!,
            lora_dropout: f.loraDropout,
            target_modules: 'all-linear',
          },
        }
      : {}),
    ...(arm.dropout > 0 ? { dropout: { attention: arm.dropout, residual: arm.dropout } } : {}),
    data: {
      train: arm.task === 'ift' ? sets.math : sets.code,
      seqLen: f.seqLen,
      microBatchSize: f.microBatchSize,
    },
    steps,
    optimizer: lion
      ? { name: 'lion', lr, beta1: 0.9, beta2: 0.95, weightDecay }
      : { name: 'adamw', lr, beta1: 0.9, beta2: 0.999, weightDecay },
    schedule: { name: 'cosine', warmupRatio: f.warmupRatio, minLrRatio: 0.1 },
    clipGradNorm: f.clipGradNorm,
    seed: config.seed,
    logEvery: Math.max(1, Math.round(steps / 40)),
    evalEvery: Math.max(1, Math.ceil(steps / f.evalPoints)),
    backend: config.backend,
  };
}

export interface ArmRun {
  finalDir: string;
  lr: number;
  weightDecay: number;
  trainableParams: number;
  steps: number;
  tokens: number;
  wallSeconds: number;
  curve: CurvePoint[];
  /** Points along the way and the final one (without the base's step 0). */
  evals: EvalPoint[];
  items: ItemValues;
}

/**
 * Trains one arm into `outputDir` (a fresh folder) and evaluates it: cheap metrics at every evaluation step, all
 * metrics (generation included) at the last step, on the model the trainer holds (adapter applied for LoRA).
 */
export async function finetuneArm(
  config: ExperimentConfig,
  arm: ArmConfig,
  baseDir: string,
  tokenizer: Tokenizer,
  sets: TrainingSets,
  evalSets: EvalSets,
  outputDir: string,
  hooks: { onStep?: (step: number, total: number, loss: number) => void; signal?: AbortSignal } = {},
): Promise<ArmRun> {
  rmSync(outputDir, { recursive: true, force: true });
  const tc = armTrainConfig(config, arm, baseDir, sets, outputDir);
  const total = tc.steps ?? 0;
  const curve: CurvePoint[] = [];
  const evals: EvalPoint[] = [];
  let items: ItemValues = {};
  let trainableParams = 0;
  const result = await train(tc, {
    progress: false,
    ...(hooks.signal ? { signal: hooks.signal } : {}),
    onLog(r) {
      if (typeof r.loss === 'number' && typeof r.lr === 'number') {
        curve.push({ step: r.step, loss: r.loss, lr: r.lr });
        hooks.onStep?.(r.step, total, r.loss);
      }
    },
    evaluators: [
      {
        name: 'experiment',
        async run({ model, step, tokensSeen }) {
          const seen = evals.find((e) => e.step === step);
          if (seen) return seen.metrics; // the periodic and the final evaluation fell on the same step
          if (trainableParams === 0) {
            for (const p of model.trainableParameters()) trainableParams += p.variable.size;
          }
          const full = step >= total;
          const out = await evaluateModel(model, tokenizer, evalSets, config, {
            tasks: [arm.task],
            full,
            seed: config.seed,
          });
          evals.push({ step, tokens: tokensSeen, metrics: out.metrics });
          if (full) items = out.items;
          return out.metrics;
        },
      },
    ],
  });
  const last = evals[evals.length - 1];
  if (!last || last.step < total) {
    throw new ExperimentError(`arm:${arm.name}`, `the trainer did not evaluate the final step ${total}`);
  }
  return {
    finalDir: result.finalDir ?? join(outputDir, 'final'),
    lr: tc.optimizer.lr,
    weightDecay: tc.optimizer.weightDecay ?? 0,
    trainableParams,
    steps: result.steps,
    tokens: result.tokensSeen,
    wallSeconds: result.wallSeconds,
    curve,
    evals,
    items,
  };
}
