// Phase 3: one unit of the plan (Biderman et al. 2024, §3): full finetuning or LoRA (alpha = 2r by default, on all
// linear modules or the attention / MLP ones) of one condition at one learning rate and seed; evaluated at
// `finetune.evalPoints` points along the way (cheap metrics, with per-item values) and fully at the end.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Tokenizer } from '@loralab/tokenizer';
import type { TrainConfig } from '@loralab/train';
import { train } from '@loralab/train';
import type { ExperimentConfig, TargetModules } from './config.js';
import { ExperimentError } from './errors.js';
import {
  addEvalPhases,
  type EvalPhaseSeconds,
  type EvalSample,
  type EvalSets,
  evaluateModel,
  noEvalPhases,
} from './evaluation.js';
import { conditionOf, type Unit } from './plan.js';
import type { TrainingSets } from './prepare-data.js';
import type { CurvePoint, EvalPoint, ItemValues } from './results.js';

/** PEFT module names of each `targetModules` choice. */
export const TARGET_MODULES: Record<TargetModules, string[] | 'all-linear'> = {
  all: 'all-linear',
  attention: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
  mlp: ['gate_proj', 'up_proj', 'down_proj'],
};

/** The training set of a condition: math or code, as conversations (IFT) or text (CPT). */
export function trainingSetOf(sets: TrainingSets, unit: Pick<Unit, 'arm'>): string {
  switch (conditionOf(unit.arm)) {
    case 'ift-math':
      return sets.math;
    case 'ift-code':
      return sets.codeInstruct;
    case 'cpt-math':
      return sets.mathText;
    case 'cpt-code':
      return sets.code;
  }
}

/** The trainer config of a unit: everything but the unit's own settings is identical across units. */
export function armTrainConfig(
  config: ExperimentConfig,
  unit: Unit & { lr: number },
  baseDir: string,
  sets: TrainingSets,
  outputDir: string,
): TrainConfig {
  const f = config.finetune;
  const { arm, steps, lr, weightDecay } = unit;
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
            target_modules: TARGET_MODULES[arm.targetModules],
          },
        }
      : {}),
    ...(arm.dropout > 0 ? { dropout: { attention: arm.dropout, residual: arm.dropout } } : {}),
    data: {
      train: trainingSetOf(sets, unit),
      seqLen: f.seqLen,
      microBatchSize: unit.microBatchSize,
    },
    steps,
    optimizer: lion
      ? { name: 'lion', lr, beta1: 0.9, beta2: 0.95, weightDecay }
      : { name: 'adamw', lr, beta1: 0.9, beta2: 0.999, weightDecay },
    schedule:
      unit.schedule === 'cosine'
        ? { name: 'cosine', warmupRatio: f.warmupRatio, minLrRatio: 0.1 }
        : { name: unit.schedule, warmupRatio: f.warmupRatio },
    clipGradNorm: f.clipGradNorm,
    seed: unit.seed,
    logEvery: Math.max(1, Math.round(steps / 40)),
    evalEvery: Math.max(1, Math.ceil(steps / f.evalPoints)),
    // (the trainer also evaluates the final step)
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
  /** Seconds of the evaluations (inside `wallSeconds`). */
  evalSeconds: number;
  /** The same seconds by kind of work. */
  evalPhases: EvalPhaseSeconds;
  /** Points along the way and the final one (without the base's step 0). */
  evals: EvalPoint[];
  items: ItemValues;
  /** The final full evaluation's generated responses (empty for a sweep unit). */
  samples: EvalSample[];
  /** The sandbox's isolation (eval's describeIsolation) where the final evaluation ran code; else null. */
  sandbox: string | null;
}

/**
 * Trains one arm into `outputDir` (a fresh folder) and evaluates it: cheap metrics at every evaluation step, and at
 * the last step all metrics (generation included) for a `chosen` unit or the validation loss for a `sweep` unit, on
 * the model the trainer holds (adapter applied for LoRA).
 */
export async function finetuneArm(
  config: ExperimentConfig,
  unit: Unit & { lr: number },
  baseDir: string,
  tokenizer: Tokenizer,
  sets: TrainingSets,
  evalSets: EvalSets,
  outputDir: string,
  hooks: {
    onStep?: (step: number, total: number, loss: number) => void;
    /** An evaluation starts (`full`: the final one, with generation). */
    onEval?: (step: number, full: boolean) => void;
    signal?: AbortSignal;
  } = {},
): Promise<ArmRun> {
  rmSync(outputDir, { recursive: true, force: true });
  const tc = armTrainConfig(config, unit, baseDir, sets, outputDir);
  const condition = conditionOf(unit.arm);
  const total = tc.steps ?? 0;
  const curve: CurvePoint[] = [];
  const evals: EvalPoint[] = [];
  let items: ItemValues = {};
  let samples: EvalSample[] = [];
  let trainableParams = 0;
  let evalSeconds = 0;
  let evalPhases = noEvalPhases();
  let sandbox: string | null = null;
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
          // The final step: the full evaluation at a chosen lr, the validation loss (the lr choice) of a sweep run.
          const final = step >= total;
          const full = final && unit.stage === 'chosen';
          hooks.onEval?.(step, full);
          const t0 = performance.now();
          const out = await evaluateModel(model, tokenizer, evalSets, config, {
            condition,
            full,
            validation: final,
            seed: unit.seed,
            cheapItems: true,
          });
          evals.push({
            step,
            tokens: tokensSeen,
            metrics: out.metrics,
            items: { source_bpb: out.items.source_bpb ?? [], target_loss: out.items.target_loss ?? [] },
          });
          if (full) {
            items = out.items;
            samples = out.samples;
            sandbox = out.sandbox ?? null;
          }
          evalSeconds += (performance.now() - t0) / 1000;
          evalPhases = addEvalPhases(evalPhases, out.phases);
          return out.metrics;
        },
      },
    ],
  });
  const last = evals[evals.length - 1];
  if (!last || last.step < total) {
    throw new ExperimentError(`unit:${unit.id}`, `the trainer did not evaluate the final step ${total}`);
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
    evalSeconds,
    evalPhases,
    evals,
    items,
    samples,
    sandbox,
  };
}
