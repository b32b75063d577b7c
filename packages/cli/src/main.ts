// The `loralab` command: finds the command in argv, parses its flags, runs it, and turns errors into one clear
// line and an exit code. `main(argv, io)` returns the exit code, so tests run the whole command in-process.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  allOptions,
  type CliIo,
  type CommandContext,
  type CommandSpec,
  commandHelp,
  commandName,
  type OptionSpec,
} from './commands/command.js';
import { COMMANDS, GROUPS } from './commands/index.js';
import { UsageError } from './errors.js';
import { EXIT_CODES, exitCodeFor } from './exit-codes.js';
import { ProgressReporter } from './progress.js';
import { CLI_VERSION } from './version.js';

/** The top-level help: every command with its summary, the exit codes and the environment. */
export function mainHelp(): string {
  const rows = COMMANDS.map((c) => [c.path.join(' '), c.summary] as const);
  const width = Math.max(...rows.map(([n]) => n.length));
  return `loralab ${CLI_VERSION}: LoRA vs full finetuning, learning vs forgetting (Biderman et al., 2024)

Usage: loralab <command> [options]
       loralab <command> --help

Commands:
${rows.map(([n, s]) => `  ${n.padEnd(width)}  ${s}`).join('\n')}

Options:
  -h, --help     show help (also after any command)
      --version  print the version

Exit codes: 0 ok, 1 failure, 2 usage error, 3 config error, 4 data error (input files, datasets, checkpoints,
tokenizers), 5 training error, 130 interrupted (SIGINT).

Environment: LORALAB_BACKEND (native, cuda, tensorflow, wasm, cpu; default auto; cuda and tensorflow untested),
LORALAB_KERNELS=off, LORALAB_WASM_THREADS, LORALAB_RANK_SVD=wasm (rank SVDs without LAPACK).
`;
}

function groupHelp(group: string): string {
  const g = GROUPS[group]!;
  const rows = COMMANDS.filter((c) => c.path[0] === group && c.path.length > 1).map(
    (c) => [c.path.slice(1).join(' '), c.summary] as const,
  );
  const width = Math.max(...rows.map(([n]) => n.length));
  return `loralab ${group}: ${g}

Usage: loralab ${group} <command> [options]

Commands:
${rows.map(([n, s]) => `  ${n.padEnd(width)}  ${s}`).join('\n')}

Run 'loralab ${group} <command> --help' for the options of one.
`;
}

/** Closest known word by edit distance, for "did you mean". */
function suggest(word: string, known: readonly string[]): string {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = d[0]!;
      d[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const tmp = d[j]!;
        d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = tmp;
      }
    }
    return d[b.length]!;
  };
  const best = known.map((k) => [k, dist(word, k)] as const).sort((x, y) => x[1] - y[1])[0];
  return best && best[1] <= 2 ? `; did you mean '${best[0]}'?` : '';
}

/** Finds the command named by the leading words of argv; returns it and the remaining arguments. */
function findCommand(argv: readonly string[]): { spec: CommandSpec; rest: string[] } | { help: string } {
  const first = argv[0]!;
  const top = [...new Set(COMMANDS.map((c) => c.path[0]!))];
  if (!top.includes(first)) {
    throw new UsageError(`unknown command '${first}'${suggest(first, top)} (commands: ${top.join(', ')})`);
  }
  if (first in GROUPS) {
    const second = argv[1];
    const subs = COMMANDS.filter((c) => c.path[0] === first).map((c) => c.path[1]!);
    if (second === undefined || second === '--help' || second === '-h') return { help: groupHelp(first) };
    const spec = COMMANDS.find((c) => c.path[0] === first && c.path[1] === second);
    if (!spec) {
      throw new UsageError(
        `unknown command '${first} ${second}'${suggest(second, subs)} (${first} commands: ${subs.join(', ')})`,
        first,
      );
    }
    return { spec, rest: argv.slice(2) };
  }
  return { spec: COMMANDS.find((c) => c.path[0] === first)!, rest: argv.slice(1) };
}

/** A value that looks like a flag but is a negative number: `-1`, `-0.5`, `-.5`, `-3e-4`, `-inf`. */
const NEGATIVE_NUMBER = /^-(\d|\.\d|inf(inity)?$|nan$)/i;

/**
 * Node's parseArgs takes `--lr -1` for a flag without its value ("argument is ambiguous"). A string option followed
 * by a negative number gets it as its value: `--lr -1` and `-r -2` become `--lr=-1` and `--rank=-2`, so the
 * command's own range check answers (`--lr must be a positive number, got -1`). Everything after `--` is left alone.
 */
export function joinNegativeValues(args: readonly string[], options: Record<string, OptionSpec>): string[] {
  const byShort = new Map(
    Object.entries(options)
      .filter(([, o]) => o.short)
      .map(([name, o]) => [o.short!, name]),
  );
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : /^-[^-]$/.test(a) ? byShort.get(a[1]!) : undefined;
    if (
      name !== undefined &&
      options[name]?.type === 'string' &&
      next !== undefined &&
      NEGATIVE_NUMBER.test(next)
    ) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** One line per error: `loralab: DataError: file:3: ...`, with structured fields the message lacks. */
export function formatError(error: unknown, verbose: boolean): string {
  if (!(error instanceof Error)) return `loralab: ${String(error)}\n`;
  if (error instanceof UsageError) {
    const cmd = ['loralab', error.command].filter(Boolean).join(' ');
    return `loralab: ${error.message}\nRun '${cmd} --help' for usage.\n`;
  }
  const fields = error as unknown as Record<string, unknown>;
  const extra: string[] = [];
  for (const key of ['key', 'file', 'path', 'shard', 'where', 'backend'] as const) {
    const v = fields[key];
    if (typeof v === 'string' && v !== '' && !v.startsWith('(') && !error.message.includes(v))
      extra.push(`${key} ${v}`);
  }
  let text = `loralab: ${error.name}: ${error.message}${extra.length ? ` (${extra.join(', ')})` : ''}\n`;
  if (verbose) {
    text += `${error.stack ?? ''}\n`;
    let cause = error.cause;
    while (cause !== undefined) {
      text += `caused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}\n`;
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  } else if (error.cause !== undefined || error.name === 'Error' || error.name === 'TypeError') {
    text += 'Run again with --verbose for details.\n';
  }
  return text;
}

/** Runs the `loralab` command line `argv` (without `node` and the script) and returns its exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  let spec: CommandSpec | undefined;
  try {
    if (argv.length === 0) {
      io.stderr.write(mainHelp());
      return EXIT_CODES.usage;
    }
    if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      io.stdout.write(mainHelp());
      return EXIT_CODES.ok;
    }
    if (argv[0] === '--version') {
      io.stdout.write(`${CLI_VERSION}\n`);
      return EXIT_CODES.ok;
    }
    if (argv[0]!.startsWith('-')) throw new UsageError(`expected a command before '${argv[0]}'`);
    const found = findCommand(argv);
    if ('help' in found) {
      io.stdout.write(found.help);
      return EXIT_CODES.ok;
    }
    spec = found.spec;
    const name = spec.path.join(' ');
    if (found.rest.includes('--help') || found.rest.includes('-h')) {
      io.stdout.write(commandHelp(spec));
      return EXIT_CODES.ok;
    }
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({
        args: joinNegativeValues(found.rest, allOptions(spec)),
        options: allOptions(spec),
        allowPositionals: true,
        strict: true,
      });
    } catch (e) {
      throw new UsageError(
        (e as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, ''),
        name,
      );
    }
    const { min, max } = spec.positionals;
    if (parsed.positionals.length < min || parsed.positionals.length > max) {
      const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      throw new UsageError(
        `expected ${want} argument${max === 1 && min <= 1 ? '' : 's'}, found ${parsed.positionals.length}${
          parsed.positionals.length ? ` (${parsed.positionals.join(' ')})` : ''
        }`,
        name,
      );
    }
    const quiet = parsed.values.quiet === true;
    const reporter = new ProgressReporter(io.stderr, { tty: io.tty, quiet });
    const signal = io.signal ?? new AbortController().signal;
    const ctx: CommandContext = {
      command: spec,
      values: parsed.values as CommandContext['values'],
      positionals: parsed.positionals,
      io,
      reporter,
      signal,
      verbose,
      out: (line) => io.stdout.write(`${line}\n`),
    };
    io.interruptMode?.(spec.graceful ? 'graceful' : 'immediate');
    try {
      const code = (await spec.run(ctx)) ?? EXIT_CODES.ok;
      if (signal.aborted) {
        io.stderr.write(`loralab: interrupted; ${commandName(spec)} stopped at a consistent point\n`);
        return EXIT_CODES.interrupted;
      }
      return code;
    } finally {
      reporter.clearBar();
    }
  } catch (error) {
    if (io.signal?.aborted) {
      io.stderr.write(`loralab: interrupted${spec ? `; ${commandName(spec)} stopped` : ''}\n`);
      if (verbose) io.stderr.write(formatError(error, true));
      return EXIT_CODES.interrupted;
    }
    io.stderr.write(formatError(error, verbose));
    return exitCodeFor(error);
  }
}

/** The real process's streams, and an AbortSignal raised by SIGINT. */
export function processIo(
  signal?: AbortSignal,
  interruptMode?: (mode: 'graceful' | 'immediate') => void,
): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    tty: process.stderr.isTTY === true,
    ...(signal && { signal }),
    ...(interruptMode && { interruptMode }),
  };
}

/**
 * Runs `loralab` as a process: the first SIGINT asks a graceful command to stop at a consistent point (the
 * trainer saves its state) and a second one exits at once; other commands (whose writes are atomic or resumable)
 * exit at the first. The exit code is main's, 130 after an interruption.
 */
export async function runCli(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const controller = new AbortController();
  let mode: 'graceful' | 'immediate' = 'immediate';
  const onSigint = () => {
    if (mode === 'immediate') {
      process.stderr.write('\nloralab: interrupted\n');
      process.exit(EXIT_CODES.interrupted);
    }
    if (controller.signal.aborted) {
      process.stderr.write('\nloralab: interrupted again; exiting now\n');
      process.exit(EXIT_CODES.interrupted);
    }
    process.stderr.write(
      '\nloralab: interrupted; stopping at the next consistent point (Ctrl-C again to quit now)\n',
    );
    controller.abort(new DOMException('interrupted by SIGINT', 'AbortError'));
  };
  // An error escaping every await (a worker thread's, a stream's) still ends in one line and a failure code.
  const onEscaped = (error: unknown) => {
    process.stderr.write(formatError(error, argv.includes('--verbose') || argv.includes('-v')));
    process.exit(exitCodeFor(error));
  };
  process.on('SIGINT', onSigint);
  process.on('uncaughtException', onEscaped);
  process.on('unhandledRejection', onEscaped);
  const code = await main(
    argv,
    processIo(controller.signal, (m) => {
      mode = m;
    }),
  );
  process.off('SIGINT', onSigint);
  process.exitCode = code;
}

/** True when this module is the process's entry point (`tsx src/main.ts ...`), not an import. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) await runCli();
