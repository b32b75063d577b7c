// @loralab/cli: the `loralab` command (issue 9). The command itself is `main(argv, io)`; the pieces are exported
// for scripts that drive it in-process.
export {
  type CliIo,
  type CommandContext,
  type CommandSpec,
  commandHelp,
  type OptionSpec,
} from './commands/command.js';
export { COMMANDS, GROUPS } from './commands/index.js';
export {
  ANY_KEYS,
  applyOverrides,
  type ConfigObject,
  deepMerge,
  type KeyTemplate,
  loadConfigFile,
  type Override,
  parseOverride,
  rejectUnknownKeys,
  setPath,
} from './config-file.js';
export { ConfigError, UsageError } from './errors.js';
export { EXIT_CODES, type ExitCode, exitCodeFor } from './exit-codes.js';
export { formatError, main, mainHelp, processIo, runCli } from './main.js';
export {
  formatCount,
  formatDuration,
  ProgressReporter,
  type Reporter,
  type ReporterSink,
} from './progress.js';
export { CLI_VERSION } from './version.js';
