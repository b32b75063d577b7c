// Named errors of @loralab/kernels.

/** A KernelsConfig field is unknown or out of range. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A native kernel was called with tensors of the wrong shape or dtype. */
export class ShapeError extends Error {
  override name = 'ShapeError';
  constructor(
    message: string,
    readonly op: string,
    readonly expected: string,
    readonly found: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
