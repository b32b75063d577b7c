// Named errors of @loralab/data.

/** Where a problem was found: a file, a line in it, a shard, a record. */
export interface DataErrorWhere {
  file?: string;
  /** 1-based line (JSONL, text) or record index (JSON arrays, Parquet, Arrow) in `file`. */
  line?: number;
  shard?: string;
}

/** Input data or a tokenized dataset on disk is missing, malformed or inconsistent with its manifest. */
export class DataError extends Error {
  override name = 'DataError';
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly shard: string | undefined;

  constructor(message: string, options: DataErrorWhere & { cause?: unknown } = {}) {
    const where = options.file
      ? `${options.file}${options.line !== undefined ? `:${options.line}` : ''}: `
      : '';
    super(`${where}${message}`, { cause: options.cause });
    this.file = options.file;
    this.line = options.line;
    this.shard = options.shard;
  }
}

/** A config value is unknown, of the wrong type, or inconsistent with another. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  /** The config key at fault, dotted for nested ones (`source.field`). */
  readonly key: string;

  constructor(key: string, message: string, options: { cause?: unknown } = {}) {
    super(`config "${key}": ${message}`, { cause: options.cause });
    this.key = key;
  }
}

/** Rejects keys of `value` that are not in `defaults`/`allowed`; `what` names the config in the message. */
export function rejectUnknownKeys(value: object, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(`${what}.${key}`, `unknown key; allowed keys are ${allowed.join(', ')}`);
    }
  }
}
