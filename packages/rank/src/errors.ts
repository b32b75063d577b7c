// Named errors of @loralab/rank.

/** A matrix has the wrong shape, size or storage for the operation asked. */
export class ShapeError extends Error {
  override name = 'ShapeError';
  /** The shape that was expected, as text (for example `[r, in]`). */
  readonly expected: string;
  /** The shape that was found. */
  readonly found: string;

  constructor(message: string, expected: string, found: string, options: { cause?: unknown } = {}) {
    super(`${message}: expected ${expected}, found ${found}`, { cause: options.cause });
    this.expected = expected;
    this.found = found;
  }
}

/** A config object has an unknown key, a value out of range, or fields that contradict each other. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  /** The config key at fault. */
  readonly key: string;

  constructor(message: string, key: string, options: { cause?: unknown } = {}) {
    super(`config key "${key}": ${message}`, { cause: options.cause });
    this.key = key;
  }
}

/** An iterative algorithm did not converge, or met a non-finite value. */
export class ConvergenceError extends Error {
  override name = 'ConvergenceError';
  /** The algorithm that failed (`bidiagonal-qr`, ...). */
  readonly algorithm: string;

  constructor(message: string, algorithm: string, options: { cause?: unknown } = {}) {
    super(`${algorithm}: ${message}`, { cause: options.cause });
    this.algorithm = algorithm;
  }
}

/** Input files (an adapter folder, a weight source) are missing or malformed. */
export class DataError extends Error {
  override name = 'DataError';
  /** The file or tensor involved, when there is one. */
  readonly file: string | undefined;

  constructor(message: string, options: { file?: string; cause?: unknown } = {}) {
    super(options.file ? `${options.file}: ${message}` : message, { cause: options.cause });
    this.file = options.file;
  }
}
