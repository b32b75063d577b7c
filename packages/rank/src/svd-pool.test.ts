import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { uniformMatrix } from '../test/matrix-generators.js';
import { DataError } from './errors.js';
import { svd } from './svd.js';
import { SvdWorkerPool, svdAsync } from './svd-pool.js';

describe('svd off the main thread', () => {
  const pool = new SvdWorkerPool(2);
  afterAll(() => pool.close());

  it('gives the same result on a worker as inline, for several jobs at once', async () => {
    const mats = [uniformMatrix(60, 40, 1), uniformMatrix(30, 50, 2), uniformMatrix(45, 45, 3)];
    const results = await Promise.all(mats.map((m) => pool.svd(m, { vectors: true })));
    for (const [i, m] of mats.entries()) {
      const ref = svd(m, { vectors: true });
      expect(results[i]!.s).toEqual(ref.s);
      expect(results[i]!.u).toEqual(ref.u);
      expect(results[i]!.vt).toEqual(ref.vt);
    }
  });

  it('starts its workers from the sources when the process runs outside the repository', () => {
    // The worker boots tsx itself; it must find tsx from this package, not from the process's working directory.
    const dir = mkdtempSync(join(tmpdir(), 'loralab-svd-pool-'));
    try {
      const script = join(dir, 'run.mts');
      const pool = JSON.stringify(fileURLToPath(new URL('./svd-pool.ts', import.meta.url)));
      writeFileSync(
        script,
        `import { SvdWorkerPool } from ${pool};\n` +
          'const p = new SvdWorkerPool(1);\n' +
          'const r = await p.svd({ rows: 2, cols: 2, data: Float64Array.from([3, 0, 0, 4]) });\n' +
          'console.log(JSON.stringify([...r.s]));\n' +
          'await p.close();\n',
      );
      const loader = fileURLToPath(import.meta.resolve('tsx/esm'));
      const r = spawnSync(process.execPath, ['--import', loader, script], { cwd: dir, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('[4,3]');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes errors back with their class', async () => {
    await expect(
      pool.svd({ rows: 1, cols: 2, data: Float64Array.from([1, Number.POSITIVE_INFINITY]) }),
    ).rejects.toThrow(DataError);
  });

  it('svdAsync offloads above the threshold and runs inline below it', async () => {
    const a = uniformMatrix(20, 20, 4);
    expect((await svdAsync(a, { offloadThreshold: 1 })).s).toEqual(svd(a).s);
    expect((await svdAsync(a)).s).toEqual(svd(a).s);
  });
});
