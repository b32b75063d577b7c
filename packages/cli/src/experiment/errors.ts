// Named errors of the experiment recipes and the report.

/** A config value is unknown, of the wrong type, or inconsistent with another. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  /** The config key at fault, dotted (`finetune.fullLr`, `arms[2].r`). */
  readonly key: string;

  constructor(key: string, message: string, options: { cause?: unknown } = {}) {
    super(`config "${key}": ${message}`, { cause: options.cause });
    this.key = key;
  }
}

/** A phase of the experiment failed; `phase` names it (`tokenizer`, `base`, `arm:lora-r16`, ...). */
export class ExperimentError extends Error {
  override name = 'ExperimentError';
  readonly phase: string;
  /** The file involved, when there is one. */
  readonly file: string | undefined;

  constructor(phase: string, message: string, options: { file?: string; cause?: unknown } = {}) {
    super(`${phase}: ${options.file ? `${options.file}: ` : ''}${message}`, { cause: options.cause });
    this.phase = phase;
    this.file = options.file;
  }
}

/** Work of two tensor backends would be mixed in one run folder (resumed or merged on another backend). */
export class BackendMismatchError extends ExperimentError {
  override name = 'BackendMismatchError';
  readonly recorded: string;
  readonly found: string;

  constructor(recorded: string, found: string, file: string) {
    super(
      'backend',
      `this run folder's work was done on the ${recorded} backend, and this is ${found}; results of two backends are never mixed in one folder: rerun with --backend ${recorded}, or use a new output folder`,
      { file },
    );
    this.recorded = recorded;
    this.found = found;
  }
}

/** A merge found a unit of the plan missing, unfinished, or not matching the plan (another config). */
export class UnitMergeError extends ExperimentError {
  override name = 'UnitMergeError';
  /** The unit ids at fault. */
  readonly units: string[];

  constructor(message: string, units: string[], file?: string) {
    super('merge', message, file ? { file } : {});
    this.units = units;
  }
}
