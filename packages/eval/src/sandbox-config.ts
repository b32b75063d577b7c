// Configuration of the code-execution sandbox: limits per program and how it is isolated.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ConfigError } from './errors.js';

/** How programs are isolated from the machine. */
export type Isolation =
  /**
   * Namespaces when `probeSandbox()` finds them usable; else rlimits with a printed warning, but only where a
   * process cap holds (sandbox uid, RLIMIT_NPROC of a non-root user, or a cgroup); else a SandboxError.
   */
  | 'auto'
  /**
   * `unshare --net --mount --pid`: no network, a minimal read-only root (the interpreter's directories) with a
   * private size-limited tmpfs `/tmp`, its own process tree (killed as a whole), an unprivileged uid when run as root.
   */
  | 'namespaces'
  /**
   * rlimits, cgroup, a sandbox uid as root and Python-level socket blocking, on the host's filesystem and network:
   * NOT a security boundary (a warning is printed).
   */
  | 'rlimits';

export interface SandboxConfig {
  /** Seconds a program may run (human-eval's `timeout`); the process is killed 1 s later. Default 3. */
  timeoutS?: number;
  /** Python interpreter. Default `/usr/bin/python3` when it exists, else `python3` from PATH. */
  python?: string;
  /**
   * Memory of one program in bytes: its cgroup's limit (all its processes) where there is a cgroup, and
   * RLIMIT_AS / RLIMIT_DATA per process. Default 1 GiB. Without a cgroup a program's processes together can use
   * up to maxProcesses x memoryBytes (plus the tmpfs); the isolation record says which holds.
   */
  memoryBytes?: number;
  /** Largest file a program may write (RLIMIT_FSIZE) in bytes. Default 16 MiB. */
  fileSizeBytes?: number;
  /** Processes and threads of one program: cgroup pids.max where there is a cgroup, and RLIMIT_NPROC. Default 8. */
  maxProcesses?: number;
  /** Open file descriptors (RLIMIT_NOFILE). Default 256. */
  maxOpenFiles?: number;
  /** Size of the private tmpfs on /tmp, which holds the working directory (namespaces only), in bytes. Default 64 MiB. */
  tmpfsBytes?: number;
  /** Bytes of stdout and of stderr kept per program; the rest is read and dropped. Default 8192. */
  maxOutputBytes?: number;
  /** Isolation method. Default `auto`. */
  isolation?: Isolation;
  /** Apply human-eval's `reliability_guard()` before exec, so results match human-eval. Default true. */
  reliabilityGuard?: boolean;
  /** Programs run at once. Default: all cores (`os.availableParallelism()`). */
  workers?: number;
  /** When run as root, worker slot i runs its programs as uid and gid `uidBase + i`. Default 2000000000. */
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
