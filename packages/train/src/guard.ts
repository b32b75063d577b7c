// The divergence and collapse guard of the training loop. A run that blows up does not always end in NaN: with a
// learning rate far too high, AdamW drives weights to 1e4..1e30 within a few steps, the softmax saturates, and the
// gradient becomes exactly 0 while the loss sits at ln(vocab) (a uniform guess). The guard watches three signals:
//   - weights: every trainable weight finite and |w| <= maxAbsWeight (checked every logEvery steps, before every
//     checkpoint and at the end), so no checkpoint with unusable weights is ever written;
//   - collapse: the gradient norm exactly 0 for zeroGradSteps consecutive steps that had target tokens;
//   - divergence: the step loss above maxLoss for maxLossSteps consecutive steps.
// A checkpoint is written only from a healthy state (weights within bound, no such streak in progress); a save that
// falls inside a streak waits for its end, so "the last good checkpoint" named by an error is one to resume from.
import type { Parameter } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import { CollapseError, ConfigError, DivergenceError } from './errors.js';

export interface GuardConfig {
  /** Largest |w| a trainable weight may reach (float32 values; real Llama weights stay below ~10) (default 1e4; null: off). */
  maxAbsWeight?: number | null;
  /** Stop with CollapseError after this many consecutive steps with gradient norm 0 (default 10; null: off). */
  zeroGradSteps?: number | null;
  /** Loss bound in nats per token: a number, or `auto` = 2·ln(vocab_size), twice a uniform guess (default `auto`; null: off). */
  maxLoss?: number | 'auto' | null;
  /** Stop with DivergenceError after this many consecutive steps with loss above maxLoss (default 10). */
  maxLossSteps?: number;
}

export type ResolvedGuardConfig = Required<GuardConfig>;

export const GUARD_DEFAULTS: ResolvedGuardConfig = {
  maxAbsWeight: 1e4,
  zeroGradSteps: 10,
  maxLoss: 'auto',
  maxLossSteps: 10,
};

function fail(key: string, expected: string, found: unknown): never {
  throw new ConfigError(
    `TrainConfig.guard.${key} must be ${expected}, found ${JSON.stringify(found) ?? String(found)}`,
    `guard.${key}`,
    found,
  );
}

/** Applies the defaults and checks every field of `guard`. */
export function resolveGuardConfig(guard: unknown): ResolvedGuardConfig {
  if (typeof guard !== 'object' || guard === null || Array.isArray(guard))
    fail('(root)', 'an object { maxAbsWeight?, zeroGradSteps?, maxLoss?, maxLossSteps? }', guard);
  const known = Object.keys(GUARD_DEFAULTS);
  for (const k of Object.keys(guard)) {
    if (!known.includes(k))
      throw new ConfigError(
        `TrainConfig: unknown key 'guard.${k}'; known keys of guard: ${known.join(', ')}`,
        `guard.${k}`,
        (guard as Record<string, unknown>)[k],
      );
  }
  const given = Object.fromEntries(Object.entries(guard).filter(([, v]) => v !== undefined));
  const g = { ...GUARD_DEFAULTS, ...given } as ResolvedGuardConfig;
  const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
  const posInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  if (g.maxAbsWeight !== null && !positive(g.maxAbsWeight))
    fail('maxAbsWeight', 'a positive number or null', g.maxAbsWeight);
  if (g.zeroGradSteps !== null && !posInt(g.zeroGradSteps))
    fail('zeroGradSteps', 'a positive integer or null', g.zeroGradSteps);
  if (g.maxLoss !== null && g.maxLoss !== 'auto' && !positive(g.maxLoss))
    fail('maxLoss', 'a positive number, "auto" or null', g.maxLoss);
  if (!posInt(g.maxLossSteps)) fail('maxLossSteps', 'a positive integer', g.maxLossSteps);
  return g;
}

/** Largest |w| over `params`, and the parameter holding it; Infinity when some weight is NaN or ±Inf. */
export async function maxAbsWeight(params: readonly Parameter[]): Promise<{ value: number; name: string }> {
  if (params.length === 0) return { value: 0, name: '' };
  // Per parameter: max|w| and Σ|w|. A sum is NaN or Inf when any term is, on every backend (a max may skip NaN).
  const stats = tf.tidy(() =>
    tf.stack(
      params.map((p) => {
        const a = tf.abs(p.variable);
        return tf.stack([tf.max(a), tf.sum(a)]);
      }),
    ),
  );
  const values = await stats.data();
  stats.dispose();
  let best = { value: -1, name: '' };
  for (const [i, p] of params.entries()) {
    const [max, sum] = [values[2 * i]!, values[2 * i + 1]!];
    const value = Number.isFinite(max) && Number.isFinite(sum) ? max : Number.POSITIVE_INFINITY;
    if (value > best.value) best = { value, name: p.name };
  }
  return best;
}

/** One step's numbers as the guard sees them. */
export interface StepSignal {
  /** The optimizer step just taken (1-based). */
  step: number;
  loss: number;
  gradNorm: number;
  /** Target tokens of the step; a step with none (every label masked) says nothing about collapse. */
  numTokens: number;
}

/** Watches a run step by step; throws DivergenceError or CollapseError naming the step range and the metric. */
export class TrainingGuard {
  private readonly maxLoss: number | null;
  private zeroFrom = 0;
  private zeroCount = 0;
  private lossFrom = 0;
  private lossCount = 0;
  /** The last step whose weights passed the bound check (the start of the run counts when it passes). */
  private checkedAt: number;

  constructor(
    private readonly config: ResolvedGuardConfig,
    vocabSize: number,
    startStep: number,
    /** The last checkpoint written before this run (a resume), for error messages. */
    private lastGood: () => string | null,
  ) {
    this.maxLoss = config.maxLoss === 'auto' ? 2 * Math.log(vocabSize) : config.maxLoss;
    this.checkedAt = startStep;
  }

  /** True while no zero-gradient or high-loss streak is in progress: a checkpoint written now is a good one. */
  get healthy(): boolean {
    return this.zeroCount === 0 && this.lossCount === 0;
  }

  /** Records one step; throws when a streak reaches its limit. */
  observe(s: StepSignal): void {
    if (s.numTokens > 0 && this.config.zeroGradSteps !== null) {
      if (s.gradNorm === 0) {
        if (this.zeroCount++ === 0) this.zeroFrom = s.step;
        if (this.zeroCount >= this.config.zeroGradSteps) {
          throw this.error(
            'collapsed',
            'grad_norm',
            this.zeroFrom,
            s.step,
            0,
            0,
            `the gradient norm was 0 for ${this.zeroCount} consecutive steps (guard.zeroGradSteps ${this.config.zeroGradSteps}) while the loss stayed at ${s.loss.toFixed(4)}: the model collapsed (saturated activations, typically from a learning rate far too high)`,
          );
        }
      } else this.zeroCount = 0;
    }
    if (this.maxLoss !== null && s.numTokens > 0) {
      if (s.loss > this.maxLoss) {
        if (this.lossCount++ === 0) this.lossFrom = s.step;
        if (this.lossCount >= this.config.maxLossSteps) {
          throw this.error(
            'diverged',
            'loss',
            this.lossFrom,
            s.step,
            s.loss,
            this.maxLoss,
            `the loss stayed above ${formatValue(this.maxLoss)} (guard.maxLoss${this.config.maxLoss === 'auto' ? ' auto: 2·ln(vocab_size)' : ''}) for ${this.lossCount} consecutive steps (guard.maxLossSteps ${this.config.maxLossSteps}), last ${formatValue(s.loss)}`,
          );
        }
      } else this.lossCount = 0;
    }
  }

  /**
   * Checks every trainable weight at `step`; throws DivergenceError when one is non-finite or above the bound.
   * `start` names where the weights came from when they are checked before the first step.
   */
  async checkWeights(params: readonly Parameter[], step: number, start?: string): Promise<void> {
    const bound = this.config.maxAbsWeight;
    if (bound === null) return;
    const { value, name } = await maxAbsWeight(params);
    if (value <= bound) {
      this.checkedAt = step;
      return;
    }
    const what = Number.isFinite(value)
      ? `max |w| = ${formatValue(value)} in ${name}, above guard.maxAbsWeight ${formatValue(bound)}`
      : `${name} holds NaN or Inf`;
    if (start !== undefined) {
      throw new DivergenceError(
        `the starting weights (${start}) are unusable: ${what}; resume from an earlier checkpoint, or raise guard.maxAbsWeight (null: off) if such weights are intended.`,
        {
          step,
          reason: 'diverged',
          lastCheckpoint: null,
          metric: 'max_abs_weight',
          fromStep: step,
          toStep: step,
          value,
          bound,
        },
      );
    }
    throw this.error(
      'diverged',
      'max_abs_weight',
      this.checkedAt + 1,
      step,
      value,
      bound,
      `the weights diverged (checked last at step ${this.checkedAt}): ${what}`,
    );
  }

  private error(
    reason: 'diverged' | 'collapsed',
    metric: 'grad_norm' | 'loss' | 'max_abs_weight',
    fromStep: number,
    toStep: number,
    value: number,
    bound: number,
    what: string,
  ): DivergenceError {
    const last = this.lastGood();
    const range = fromStep === toStep ? `step ${toStep}` : `steps ${fromStep}-${toStep}`;
    const ErrorClass = reason === 'collapsed' ? CollapseError : DivergenceError;
    return new ErrorClass(
      `${range}: ${what}; training stopped. ${last ? `The last good checkpoint is ${last}` : 'No good checkpoint was written'} (lower optimizer.lr, keep clipGradNorm set, or check the data; the bounds are TrainConfig.guard).`,
      { step: toStep, reason, lastCheckpoint: last, metric, fromStep, toStep, value, bound },
    );
  }
}

function formatValue(v: number): string {
  return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : `${+v.toFixed(4)}`;
}
