// The shape of a `loralab` command: its flags, positionals, help text and run function, and the helpers that turn
// parsed flags into typed values and config objects.
import {
  applyOverrides,
  type ConfigObject,
  deepMerge,
  type KeyTemplate,
  loadConfigFile,
  type Override,
  parseOverride,
  rejectUnknownKeys,
} from '../config-file.js';
import { UsageError } from '../errors.js';
import type { ProgressReporter } from '../progress.js';

/** Where a command writes and what it can observe; `main()` gets one, so tests run commands in-process. */
export interface CliIo {
  /** Results (summaries, scores, JSON). */
  stdout: { write(text: string): unknown };
  /** Progress, logs and errors. */
  stderr: { write(text: string): unknown; columns?: number };
  /** stderr is a terminal: progress is a redrawn bar instead of plain lines. */
  tty: boolean;
  /** Aborted on SIGINT: long work stops at the next consistent point. */
  signal?: AbortSignal;
  /**
   * Told whether the running command stops gracefully on `signal` (`graceful`) or should simply be ended by a
   * SIGINT (`immediate`: its writes are atomic or resumable anyway).
   */
  interruptMode?(mode: 'graceful' | 'immediate'): void;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder of the value in help (`DIR`, `N`). */
  value?: string;
  description: string;
}

export interface CommandSpec {
  /** Words after `loralab`, e.g. `['data', 'prepare']`. */
  path: string[];
  summary: string;
  /** Usage after the command words: `[options] --tokenizer DIR --output DIR [INPUT...]`. */
  usage: string;
  description?: string;
  options: Record<string, OptionSpec>;
  /** Accepts `--config FILE` and `--set KEY=VALUE`. */
  config?: boolean;
  /** Stops at a consistent point when `signal` aborts (training, the experiment, model evaluations). */
  graceful?: boolean;
  /** How many positional arguments are allowed. */
  positionals: { min: number; max: number };
  examples: string[];
  run(ctx: CommandContext): Promise<number | undefined>;
}

export type FlagValue = string | boolean | string[] | undefined;

export interface CommandContext {
  command: CommandSpec;
  values: Record<string, FlagValue>;
  positionals: string[];
  io: CliIo;
  reporter: ProgressReporter;
  signal: AbortSignal;
  verbose: boolean;
  /** Writes one line to stdout. */
  out(line: string): void;
}

/** Flags every command takes. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  verbose: { type: 'boolean', short: 'v', description: 'more detail; on failure, the stack and causes' },
  quiet: { type: 'boolean', short: 'q', description: 'no progress output' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/** `--backend`, shared by every command that runs a model. */
export const BACKEND_OPTION: OptionSpec = {
  type: 'string',
  value: 'NAME',
  description:
    'auto (default: native where built, else wasm), native, cuda, tensorflow (both untested), wasm or cpu',
};

/** Flags of commands that read a config. */
export const CONFIG_OPTIONS: Record<string, OptionSpec> = {
  config: { type: 'string', short: 'c', value: 'FILE', description: 'config file, JSON or YAML' },
  set: {
    type: 'string',
    multiple: true,
    value: 'KEY=VALUE',
    description: 'override one config value (dotted key, YAML value), repeatable',
  },
};

export function commandName(spec: CommandSpec): string {
  return ['loralab', ...spec.path].join(' ');
}

export function allOptions(spec: CommandSpec): Record<string, OptionSpec> {
  return { ...spec.options, ...(spec.config ? CONFIG_OPTIONS : {}), ...GLOBAL_OPTIONS };
}

/** The help text of one command. */
export function commandHelp(spec: CommandSpec): string {
  const opts = allOptions(spec);
  const left = Object.entries(opts).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`;
    return [flag, o.description] as const;
  });
  const width = Math.max(...left.map(([f]) => f.length));
  const lines = [`${commandName(spec)}: ${spec.summary}`, '', `Usage: ${commandName(spec)} ${spec.usage}`];
  if (spec.description) lines.push('', spec.description);
  lines.push('', 'Options:', ...left.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`));
  if (spec.examples.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return `${lines.join('\n')}\n`;
}

/** A string flag, or undefined. */
export function stringFlag(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name];
  if (Array.isArray(v)) return v.at(-1);
  return typeof v === 'string' ? v : undefined;
}

/** A string flag that must be present. */
export function requiredFlag(ctx: CommandContext, name: string, why = ''): string {
  const v = stringFlag(ctx, name);
  if (v === undefined || v === '') {
    throw new UsageError(`missing --${name}${why ? ` (${why})` : ''}`, ctx.command.path.join(' '));
  }
  return v;
}

/** Range of a numeric flag: integers only, bounds (`min`/`max` inclusive), `positive` (> 0), `belowMax` (< max). */
export interface NumberCheck {
  integer?: boolean;
  min?: number;
  max?: number;
  /** Strictly greater than 0. */
  positive?: boolean;
  /** `max` is excluded (`--dropout` in [0, 1)). */
  belowMax?: boolean;
}

/** What a numeric flag accepts, in words: `a positive number`, `an integer >= 1`, `a number in [0, 1)`. */
export function describeNumber(check: NumberCheck): string {
  const kind = check.integer ? 'integer' : 'number';
  if (check.positive) return `a positive ${kind}`;
  if (check.min !== undefined && check.max !== undefined)
    return `a ${kind} in [${check.min}, ${check.max}${check.belowMax ? ')' : ']'}`;
  const article = check.integer ? 'an' : 'a';
  if (check.min !== undefined) return `${article} ${kind} >= ${check.min}`;
  if (check.max !== undefined) return `${article} ${kind} ${check.belowMax ? '<' : '<='} ${check.max}`;
  return `${article} ${kind}`;
}

/**
 * A numeric flag, or undefined; a value that is not a number, or out of range, is a usage error naming the flag:
 * `--lr must be a positive number, got -1`. Negative values reach here as values (`--lr -1` and `--lr=-1`; see
 * `joinNegativeValues` in main.ts), so the range is what rejects them.
 */
export function numberFlag(ctx: CommandContext, name: string, check: NumberCheck = {}): number | undefined {
  const v = stringFlag(ctx, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  const numeric = v.trim() !== '' && Number.isFinite(n);
  const bad =
    !numeric ||
    (check.integer && !Number.isInteger(n)) ||
    (check.positive && !(n > 0)) ||
    (check.min !== undefined && n < check.min) ||
    (check.max !== undefined && (check.belowMax ? n >= check.max : n > check.max));
  if (bad) {
    throw new UsageError(
      `--${name} must be ${describeNumber(check)}, got ${numeric ? v : JSON.stringify(v)}`,
      ctx.command.path.join(' '),
    );
  }
  return n;
}

/** A comma-separated list flag (`--k 1,10`); repeated flags add up. */
export function listFlag(ctx: CommandContext, name: string): string[] | undefined {
  const v = ctx.values[name];
  if (v === undefined || typeof v === 'boolean') return undefined;
  return (Array.isArray(v) ? v : [v])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

/** An enumerated flag: one of `allowed`, or undefined. */
export function choiceFlag<T extends string>(
  ctx: CommandContext,
  name: string,
  allowed: readonly T[],
): T | undefined {
  const v = stringFlag(ctx, name);
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) {
    throw new UsageError(
      `--${name} must be one of ${allowed.join(', ')}, found "${v}"`,
      ctx.command.path.join(' '),
    );
  }
  return v as T;
}

export function booleanFlag(ctx: CommandContext, name: string): boolean {
  return ctx.values[name] === true;
}

/** The `--set` overrides of the command line, parsed, in order. */
export function setOverrides(ctx: CommandContext): Override[] {
  const sets = ctx.values.set;
  return (Array.isArray(sets) ? sets : typeof sets === 'string' ? [sets] : []).map(parseOverride);
}

/**
 * The command's config: `defaults`, then the `--config` file (or `file`), then `flags` (direct flags; undefined
 * ones are skipped), then each `--set`. With a `template`, unknown keys are rejected with their dotted path.
 */
export function buildConfig(
  ctx: CommandContext,
  options: {
    defaults?: ConfigObject;
    flags?: ConfigObject;
    template?: KeyTemplate;
    file?: string;
    /** Keys a flag replaces whole instead of merging into (a `source` given by flags replaces the file's). */
    replace?: readonly string[];
    /** Apply the `--set` overrides (default true; false when the caller applies them to a fuller config). */
    overrides?: boolean;
  } = {},
): ConfigObject {
  const file = options.file ?? stringFlag(ctx, 'config');
  let config = options.defaults ? structuredClone(options.defaults) : {};
  if (file) {
    const fromFile = loadConfigFile(file);
    if (options.template !== undefined) rejectUnknownKeys(fromFile, options.template);
    config = deepMerge(config, fromFile);
  }
  if (options.flags) {
    for (const key of options.replace ?? []) if (options.flags[key] !== undefined) delete config[key];
    config = deepMerge(config, options.flags);
  }
  if (options.overrides !== false) config = applyOverrides(config, setOverrides(ctx));
  if (options.template !== undefined) rejectUnknownKeys(config, options.template);
  return config;
}
