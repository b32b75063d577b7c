// Named errors of @loralab/eval.

/** A data file (problems, samples, benchmark items) is missing or malformed. */
export class DataError extends Error {
  override name = 'DataError';
  /** The file involved, when there is one. */
  readonly file: string | undefined;
  /** 1-based line of the file, when the problem is on one line. */
  readonly line: number | undefined;

  constructor(message: string, options: { file?: string; line?: number; cause?: unknown } = {}) {
    const where = options.file ? `${options.file}${options.line ? `:${options.line}` : ''}: ` : '';
    super(`${where}${message}`, { cause: options.cause });
    this.file = options.file;
    this.line = options.line;
  }
}

/** A config object has an unknown key, a value out of range, or contradicting fields. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  /** The offending config key. */
  readonly key: string;

  constructor(key: string, message: string, options: { cause?: unknown } = {}) {
    super(`config key "${key}": ${message}`, { cause: options.cause });
    this.key = key;
  }
}

/**
 * The sandbox itself failed (python3 or unshare missing, a mount refused): an evaluator problem,
 * never a verdict on the program being run.
 */
export class SandboxError extends Error {
  override name = 'SandboxError';

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
  }
}
