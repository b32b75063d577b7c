// Finds out once per interpreter which isolation this machine allows, decides what `auto` means (never an
// uncapped fallback), and describes the isolation in force for results files and reports.

import { SandboxError } from './errors.js';
import { type ConcreteIsolation, executeProgram } from './execute-program.js';
import { detectCgroups } from './sandbox-cgroup.js';
import type { ResolvedSandboxConfig } from './sandbox-config.js';

/** What the probe found. */
export interface SandboxProbe {
  /** The isolation `auto` resolves to when namespaces work; else `rlimits`. */
  isolation: ConcreteIsolation;
  /** Why namespaces are not used, when they are not. */
  reason: string | undefined;
  /** True when programs run as an unprivileged uid (root with namespaces). */
  dropsPrivileges: boolean;
}

/** The isolation a run uses, as recorded in results files and reports. */
export interface IsolationReport {
  /** `namespaces` or `rlimits`. */
  mode: ConcreteIsolation;
  /** Who the program runs as. */
  user: string;
  /** What caps the number of processes of one program; null when nothing does. */
  processCap: string | null;
  /** What bounds the memory of one program. */
  memory: string;
  /** cgroup version used per program, or `none`. */
  cgroup: '1' | '2' | 'none';
  /** What the program sees of the filesystem. */
  filesystem: string;
  /** What the program can reach on the network. */
  network: string;
  /** Warnings printed when this isolation was chosen (empty for namespaces with a cgroup). */
  warnings: string[];
}

const probes = new Map<string, Promise<SandboxProbe>>();
const users = new Map<string, Promise<number>>();
const warned = new Set<string>();

function cacheKey(config: ResolvedSandboxConfig): string {
  const env = ['NAMESPACES', 'UID_DROP', 'CGROUP'].map((k) => process.env[`LORALAB_EVAL_SIMULATE_NO_${k}`]);
  return JSON.stringify([config.python, ...env]);
}

/** Runs a short program under `unshare` to see whether namespaces work here; cached per python. */
export function probeSandbox(config: ResolvedSandboxConfig): Promise<SandboxProbe> {
  const key = cacheKey(config);
  let probe = probes.get(key);
  if (!probe) {
    probe = runProbe(config);
    probes.set(key, probe);
  }
  return probe;
}

async function runProbe(config: ResolvedSandboxConfig): Promise<SandboxProbe> {
  // A fresh import after the privilege drop shows that the interpreter's library is readable in the new root.
  const program =
    'import os, fractions\nassert os.getpid() == 1, "not in a new PID namespace"\nprint(os.getuid())';
  const probeConfig = { ...config, timeoutS: 10, reliabilityGuard: false };
  try {
    const r = await executeProgram(program, probeConfig, 'namespaces');
    if (r.passed) {
      return { isolation: 'namespaces', reason: undefined, dropsPrivileges: r.stdout.trim() !== '0' };
    }
    return {
      isolation: 'rlimits',
      reason: `probe program ${r.result}; stderr: ${r.stderr}`,
      dropsPrivileges: false,
    };
  } catch (e) {
    if (!(e instanceof SandboxError)) throw e;
    return {
      isolation: 'rlimits',
      reason: e.message.replace(/\s*\n\s*/g, ' ').trim(),
      dropsPrivileges: false,
    };
  }
}

/** The uid a program runs as under rlimits (the interpreter is started once to see it); cached per python. */
function rlimitsUser(config: ResolvedSandboxConfig): Promise<number> {
  const key = cacheKey(config);
  let uid = users.get(key);
  if (!uid) {
    const probeConfig = { ...config, timeoutS: 10, reliabilityGuard: false };
    uid = executeProgram('import os\nprint(os.getuid())', probeConfig, 'rlimits').then((r) => {
      if (!r.passed) throw new SandboxError(`the rlimits probe failed: ${r.result}; stderr: ${r.stderr}`);
      return Number(r.stdout.trim());
    });
    users.set(key, uid);
  }
  return uid;
}

/**
 * The isolation a run uses. `namespaces` fails loudly if unavailable; `rlimits` prints a warning;
 * `auto` takes namespaces, else rlimits only where a process cap holds (printing why), else refuses.
 */
export async function planIsolation(config: ResolvedSandboxConfig): Promise<IsolationReport> {
  if (config.isolation !== 'rlimits') {
    const probe = await probeSandbox(config);
    if (probe.isolation === 'namespaces') {
      const report = describe(config, 'namespaces', probe.dropsPrivileges ? 1 : 0);
      warn(report);
      return report;
    }
    if (config.isolation === 'namespaces') {
      throw new SandboxError(
        `isolation "namespaces" was asked for but is not available here: ${probe.reason}`,
      );
    }
    const report = describe(config, 'rlimits', await rlimitsUser(config));
    if (report.processCap === null) {
      throw new SandboxError(
        `refusing to run untrusted code: namespaces are not available (${probe.reason}) and without them nothing ` +
          'caps the number of processes of a program here (running as root, no sandbox uid, no cgroup). ' +
          'Fix namespaces (unshare), or set the sandbox option isolation: "rlimits" to run anyway.',
      );
    }
    report.warnings.unshift(`namespaces are not available (${probe.reason}); falling back to rlimits`);
    warn(report);
    return report;
  }
  const report = describe(config, 'rlimits', await rlimitsUser(config));
  warn(report);
  return report;
}

/** The isolation a run uses (its mode); see `planIsolation`. */
export async function decideIsolation(config: ResolvedSandboxConfig): Promise<ConcreteIsolation> {
  return (await planIsolation(config)).mode;
}

function describe(config: ResolvedSandboxConfig, mode: ConcreteIsolation, uid: number): IsolationReport {
  const layout = detectCgroups();
  const root = process.getuid?.() === 0;
  const dropped = root && uid !== 0;
  const user = dropped
    ? `sandbox uid ${config.uidBase} + worker slot`
    : mode === 'namespaces' && !root
      ? `the caller's uid ${process.getuid?.()}, as root of a user namespace`
      : `the caller's uid ${uid}`;
  const nproc = `RLIMIT_NPROC ${config.maxProcesses}${dropped ? ' per sandbox uid' : root ? ' (does not bind root)' : ` over all processes of uid ${process.getuid?.()}`}`;
  const caps = [
    ...(layout.version !== 'none' ? [`cgroup pids.max ${config.maxProcesses}`] : []),
    ...(!root || dropped ? [nproc] : []),
  ];
  const perProcess = `RLIMIT_AS ${config.memoryBytes} B per process`;
  const report: IsolationReport = {
    mode,
    user,
    processCap: caps.length > 0 ? caps.join(', ') : null,
    memory:
      layout.version === 'none'
        ? `${perProcess} only: no per-program cap (no cgroup: ${layout.reason})`
        : `cgroup memory limit ${config.memoryBytes} B for all its processes, ${perProcess}`,
    cgroup: layout.version === 'none' ? 'none' : layout.version === 2 ? '2' : '1',
    filesystem:
      mode === 'namespaces'
        ? `minimal root: the interpreter's directories read-only, /dev/null etc., its own /proc, a private ${config.tmpfsBytes} B tmpfs /tmp; no other host file`
        : `the host's filesystem: every file readable by ${dropped ? 'the sandbox uid' : 'the caller'}, writable where that uid may write`,
    network:
      mode === 'namespaces'
        ? 'none (empty network namespace)'
        : "the host's network (Python's socket module refused; ctypes gets round it)",
    warnings: [],
  };
  if (mode === 'rlimits') {
    report.warnings.push(
      'rlimits is not a security boundary: the program shares the host filesystem and network',
    );
    if (report.processCap === null) report.warnings.push('nothing caps the number of processes of a program');
  } else if (layout.version === 'none') {
    report.warnings.push(`memory is capped per process, not per program (no cgroup: ${layout.reason})`);
  }
  return report;
}

function warn(report: IsolationReport): void {
  for (const w of report.warnings) {
    if (warned.has(w)) continue;
    warned.add(w);
    console.warn(`@loralab/eval sandbox: ${w}`);
  }
}

/**
 * A short line for each results row, e.g. `namespaces; processes: cgroup pids.max 8, RLIMIT_NPROC 8 per sandbox
 * uid; memory: per program (cgroup v1); filesystem: minimal root; network: none`. The full report is `sandbox`.
 */
export function describeIsolation(r: IsolationReport): string {
  const memory = r.cgroup === 'none' ? 'per process only (no cgroup)' : `per program (cgroup v${r.cgroup})`;
  const filesystem = r.mode === 'namespaces' ? 'minimal root' : 'host';
  const network = r.mode === 'namespaces' ? 'none' : 'host';
  return `${r.mode}; processes: ${r.processCap ?? 'NO CAP'}; memory: ${memory}; filesystem: ${filesystem}; network: ${network}`;
}
