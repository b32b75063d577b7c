// Named errors of @loralab/model. Each carries structured fields so callers can react without parsing messages.

/** A config value is missing, out of range, or inconsistent with another field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    /** The config key at fault, e.g. `num_key_value_heads`. */
    readonly key: string,
    /** The value found. */
    readonly value?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A tensor or array has a shape the operation cannot accept. */
export class ShapeError extends Error {
  override readonly name = 'ShapeError';
  constructor(
    message: string,
    /** Where the shape was checked, e.g. `model.layers.0.self_attn`. */
    readonly where: string,
    /** The shape expected (null marks a free dimension). */
    readonly expected: readonly (number | null)[],
    /** The shape found. */
    readonly found: readonly number[],
  ) {
    super(message);
  }
}

/** A checkpoint file (safetensors, config.json, index) is malformed or does not match the model. */
export class CheckpointError extends Error {
  override readonly name: string = 'CheckpointError';
  constructor(
    message: string,
    /** The file at fault. */
    readonly path: string,
    /** The tensor key at fault, when one is. */
    readonly key?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A requested tensor backend is not installed or failed to start. */
export class BackendError extends Error {
  override readonly name = 'BackendError';
  constructor(
    message: string,
    /** The backend requested: `cuda`, `tensorflow`, `wasm` or `cpu`. */
    readonly backend: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A file's bytes differ from the checksum recorded when it was written (or a loaded tensor is not finite where no
 * checksum vouches for it): the file is corrupt or was changed after loralab wrote it.
 */
export class IntegrityError extends CheckpointError {
  override readonly name: string = 'IntegrityError';
  constructor(
    message: string,
    path: string,
    /** The tensor at fault (null: the header, a JSON file or the whole file). */
    key: string | undefined,
    /** What was recorded (a sha256, a size) or allowed (a bound). */
    readonly expected: string,
    /** What the bytes give. */
    readonly found: string,
    options?: { cause?: unknown },
  ) {
    super(message, path, key, options);
  }
}
