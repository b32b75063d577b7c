// Running as root where namespaces are refused (simulated: LORALAB_EVAL_SIMULATE_NO_NAMESPACES makes unshare
// fail as it does in unprivileged containers). `auto` falls back to rlimits only with a process cap (a sandbox uid
// per worker slot, a cgroup), says so, and a fork bomb and a memory hog spread over processes stay within the
// program's limits; with no cap at all (no uid drop, no cgroup: simulated too) `auto` refuses.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { CodeProblem } from '../src/code-problems.js';
import { SandboxError } from '../src/errors.js';
import { evaluateCodeSamples } from '../src/evaluate-code.js';
import { detectCgroups } from '../src/sandbox-cgroup.js';
import { resolveSandboxConfig, type SandboxConfig } from '../src/sandbox-config.js';
import { planIsolation } from '../src/sandbox-probe.js';
import { MEMORY_HOG_BODY } from './helpers.js';

const root = process.getuid?.() === 0;
if (!root) console.warn('skipping the no-namespaces suite: it needs root (the case the fallback is for)');
const SIMULATED = ['NAMESPACES', 'UID_DROP', 'CGROUP'].map((k) => `LORALAB_EVAL_SIMULATE_NO_${k}`);
const saved = SIMULATED.map((k) => process.env[k]);
afterAll(() => {
  SIMULATED.forEach((k, i) => {
    if (saved[i] === undefined) delete process.env[k];
    else process.env[k] = saved[i];
  });
});

const problem: CodeProblem = {
  task_id: 'Hostile/add',
  prompt: 'def add(a, b):\n    """Return a + b."""\n',
  canonical_solution: '    return a + b\n',
  test: 'def check(candidate):\n    assert candidate(2, 3) == 5\n',
  entry_point: 'add',
};
const body = (code: string) => `${code.replace(/^/gm, '    ')}\n    return 0\n`;
const uidBase = 2_080_000_000;
const sandbox: SandboxConfig = {
  reliabilityGuard: false,
  timeoutS: 3,
  memoryBytes: 512 * 1024 ** 2,
  maxProcesses: 8,
  uidBase,
  workers: 2,
};

/** Live (not zombie) processes of these uids: killed orphans wait for init to reap them. */
function processesOf(uids: number[]): number {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      if (uids.includes(uid) && !/^State:\s+Z/m.test(status)) n++;
    } catch {
      // ended while we looked
    }
  }
  return n;
}

describe.skipIf(!root)('root without namespaces', () => {
  it('auto falls back to rlimits with a sandbox uid, warns, and records it', async () => {
    process.env.LORALAB_EVAL_SIMULATE_NO_NAMESPACES = '1';
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const report = await planIsolation(resolveSandboxConfig(sandbox));
    expect(report.mode).toBe('rlimits');
    expect(report.user).toBe(`sandbox uid ${uidBase} + worker slot`);
    expect(report.processCap).toMatch(/RLIMIT_NPROC 8 per sandbox uid/);
    expect(report.warnings[0]).toMatch(/namespaces are not available \(.*simulated-refusal/);
    expect(warn.mock.calls.flat().join('\n')).toMatch(/falling back to rlimits/);
    warn.mockRestore();
  }, 30_000);

  it('contains a fork bomb and a memory hog spread over processes', async () => {
    process.env.LORALAB_EVAL_SIMULATE_NO_NAMESPACES = '1';
    const cases = {
      'fork bomb':
        'import os\nwhile True:\n    try:\n        os.fork()\n    except BaseException:\n        pass',
      'daemon left behind': 'import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)',
    };
    const problems = new Map([[problem.task_id, problem]]);
    const samples = Object.entries(cases).map(([name, code]) => ({
      task_id: problem.task_id,
      name,
      completion: body(code),
    }));
    const ev = await evaluateCodeSamples(problems, samples, { sandbox });
    // The hog needs its 3 s with every process alive, more on a loaded machine: a timeout of its own.
    const hogRun = await evaluateCodeSamples(
      problems,
      [{ task_id: problem.task_id, completion: MEMORY_HOG_BODY }],
      { sandbox: { ...sandbox, timeoutS: 20 } },
    );
    expect(ev.isolation).toBe('rlimits');
    expect(ev.results.filter((r) => r.passed)).toEqual([]);
    expect(processesOf([uidBase, uidBase + 1])).toBe(0); // nothing left running, setsid or not
    const cgroups = detectCgroups();
    const bomb = ev.executions[0]!;
    const hog = hogRun.executions[0]!;
    expect(hogRun.results[0]!.passed).toBe(false);
    if (cgroups.version === 'none') {
      // RLIMIT_NPROC per sandbox uid is the cap; memory is per process only, as the record says.
      expect(ev.sandbox.memory).toMatch(/no per-program cap/);
      return;
    }
    expect(ev.sandbox.processCap).toMatch(/cgroup pids.max 8/);
    expect(bomb.pidsPeak).toBeLessThanOrEqual(8);
    expect(hog.stdout).toMatch(/^statuses \[.*\b9\b.*\]/); // some child was OOM-killed
    expect(hog.memoryPeakBytes).toBeGreaterThan(200 * 1024 ** 2);
    expect(hog.memoryPeakBytes).toBeLessThanOrEqual(512 * 1024 ** 2);
  }, 60_000);

  it('auto refuses when nothing would cap the processes; rlimits asked for runs with a warning', async () => {
    for (const k of SIMULATED) process.env[k] = '1';
    const config = resolveSandboxConfig({ ...sandbox, uidBase: uidBase + 10 });
    await expect(planIsolation(config)).rejects.toThrow(SandboxError);
    await expect(planIsolation(config)).rejects.toThrow(
      /refusing to run untrusted code: [\s\S]*nothing caps the number of processes[\s\S]*isolation: "rlimits"/,
    );
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const report = await planIsolation(resolveSandboxConfig({ ...sandbox, isolation: 'rlimits' }));
    expect(report.processCap).toBeNull();
    expect(report.user).toBe("the caller's uid 0");
    expect(warn.mock.calls.flat().join('\n')).toMatch(/nothing caps the number of processes/);
    warn.mockRestore();
    for (const k of SIMULATED) delete process.env[k];
  }, 30_000);
});
