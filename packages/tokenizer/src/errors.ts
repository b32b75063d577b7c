// Named errors of @loralab/tokenizer.

/** A tokenizer file is missing or malformed, a config value is invalid, or input cannot be encoded. */
export class TokenizerError extends Error {
  override name = 'TokenizerError';
  /** The file involved, when there is one. */
  readonly file: string | undefined;

  constructor(message: string, options: { file?: string; cause?: unknown } = {}) {
    super(options.file ? `${options.file}: ${message}` : message, { cause: options.cause });
    this.file = options.file;
  }
}
