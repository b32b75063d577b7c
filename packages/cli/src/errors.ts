// Named errors of @loralab/cli: a wrong command line, and a wrong config file or override.

/** The command line is wrong (unknown command or flag, missing or malformed argument); exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** The command whose usage was wrong (`data prepare`), for the "see --help" hint. */
  readonly command: string;

  constructor(message: string, command = '') {
    super(message);
    this.command = command;
  }
}

/** A config file cannot be read or parsed, or a key or value in it or in an override is wrong; exit code 3. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  /** The dotted key path at fault (`optimizer.lr`), or '' for the whole file. */
  readonly key: string;
  readonly file: string | undefined;
  readonly line: number | undefined;

  constructor(key: string, message: string, options: { file?: string; line?: number; cause?: unknown } = {}) {
    const where = options.file ? `${options.file}${options.line ? `:${options.line}` : ''}: ` : '';
    super(`${where}${key ? `config "${key}": ` : ''}${message}`, { cause: options.cause });
    this.key = key;
    this.file = options.file;
    this.line = options.line;
  }
}
