// Named errors of @loralab/train. Config problems raise @loralab/model's `ConfigError` (re-exported here), so one
// class covers every loralab config; a failure during training raises `TrainingError` (or one of its subclasses).
export { CheckpointError, ConfigError } from '@loralab/model';

/** Why training stopped. */
export type TrainingStopReason = 'non-finite-loss' | 'non-finite-grad' | 'aborted' | 'diverged' | 'collapsed';

/** Training stopped: a non-finite loss or gradient, or an abort. Names the step and the last good checkpoint. */
export class TrainingError extends Error {
  override readonly name: string = 'TrainingError';
  constructor(
    message: string,
    /** The optimizer step (1-based) at which training stopped. */
    readonly step: number,
    /** What went wrong: `non-finite-loss`, `non-finite-grad`, `aborted`, `diverged` or `collapsed`. */
    readonly reason: TrainingStopReason,
    /**
     * The last checkpoint written before the failure, or null when none was. Checkpoints are written only with
     * finite weights within `guard.maxAbsWeight`, so this one is safe to resume from (with a lower lr).
     */
    readonly lastCheckpoint: string | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What a divergence or collapse error reports, besides its message. */
export interface DivergenceDetails {
  step: number;
  reason: 'diverged' | 'collapsed';
  lastCheckpoint: string | null;
  /** The signal that tripped the guard: `grad_norm` (== 0), `loss` (above the bound) or `max_abs_weight`. */
  metric: 'grad_norm' | 'loss' | 'max_abs_weight';
  /** First and last step of the streak (for weights: the steps since the last check that passed). */
  fromStep: number;
  toStep: number;
  /** The metric's last value (Infinity for NaN/Inf weights) and the bound it crossed. */
  value: number;
  bound: number;
}

/** The run diverged: weights non-finite or beyond `guard.maxAbsWeight`, or the loss above `guard.maxLoss`. */
export class DivergenceError extends TrainingError {
  override readonly name: string = 'DivergenceError';
  readonly metric: DivergenceDetails['metric'];
  readonly fromStep: number;
  readonly toStep: number;
  readonly value: number;
  readonly bound: number;

  constructor(message: string, d: DivergenceDetails, options?: { cause?: unknown }) {
    super(message, d.step, d.reason, d.lastCheckpoint, options);
    this.metric = d.metric;
    this.fromStep = d.fromStep;
    this.toStep = d.toStep;
    this.value = d.value;
    this.bound = d.bound;
  }
}

/** The run collapsed: the gradient norm was exactly 0 for `guard.zeroGradSteps` consecutive steps. */
export class CollapseError extends DivergenceError {
  override readonly name: string = 'CollapseError';
}
