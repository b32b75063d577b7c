// Exit codes of the `loralab` command, and the mapping from the packages' named errors to them.

/** What scripts can rely on. Documented in the README; `EXIT_CODES` is the one place they are defined. */
export const EXIT_CODES = {
  /** The command did what it was asked. */
  ok: 0,
  /** Anything else went wrong (a bug, an I/O failure, a sandbox that cannot start, ...). */
  failure: 1,
  /** The command line is wrong: unknown command or flag, missing or malformed argument. */
  usage: 2,
  /** A config file or value is wrong: unknown key, bad value, contradicting fields. */
  config: 3,
  /** Input data, a checkpoint, a tokenizer or a dataset on disk is missing or malformed. */
  data: 4,
  /**
   * Training failed: a non-finite loss, weights that diverged or a collapsed gradient (DivergenceError,
   * CollapseError), a backend that cannot start.
   */
  training: 5,
  /** Interrupted by SIGINT (after the trainer saved a consistent state). */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/**
 * Error classes by `name`. Every package defines its own `ConfigError`/`DataError`, so the mapping goes by name,
 * not by class identity.
 */
const BY_NAME: Record<string, ExitCode> = {
  UsageError: EXIT_CODES.usage,
  ConfigError: EXIT_CODES.config,
  DataError: EXIT_CODES.data,
  TokenizerError: EXIT_CODES.data,
  CheckpointError: EXIT_CODES.data,
  IntegrityError: EXIT_CODES.data,
  ShapeError: EXIT_CODES.data,
  TrainingError: EXIT_CODES.training,
  DivergenceError: EXIT_CODES.training,
  CollapseError: EXIT_CODES.training,
  BackendError: EXIT_CODES.training,
  ConvergenceError: EXIT_CODES.failure,
  SandboxError: EXIT_CODES.failure,
  AbortError: EXIT_CODES.interrupted,
};

/** The exit code for an error thrown by a command. */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof Error && (error as { reason?: unknown }).reason === 'aborted')
    return EXIT_CODES.interrupted;
  if (error instanceof Error) return BY_NAME[error.name] ?? EXIT_CODES.failure;
  return EXIT_CODES.failure;
}
