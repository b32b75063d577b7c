// Named errors of @loralab/train. Config problems raise @loralab/model's `ConfigError` (re-exported here), so one
// class covers every loralab config; a failure during training raises `TrainingError`.
export { CheckpointError, ConfigError } from '@loralab/model';

/** Training stopped: a non-finite loss or gradient, or an abort. Names the step and the last good checkpoint. */
export class TrainingError extends Error {
  override readonly name = 'TrainingError';
  constructor(
    message: string,
    /** The optimizer step (1-based) at which training stopped. */
    readonly step: number,
    /** What went wrong: `non-finite-loss`, `non-finite-grad` or `aborted`. */
    readonly reason: 'non-finite-loss' | 'non-finite-grad' | 'aborted',
    /** The last checkpoint written before the failure (intact), or null when none was. */
    readonly lastCheckpoint: string | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
