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
