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
