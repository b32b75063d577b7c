import { describe, expect, it } from 'vitest';
import { uniformMatrix } from '../test/matrix-generators.js';
import { analyseCheckpoints } from './analyse.js';
import { ConfigError, DataError } from './errors.js';
import type { Matrix } from './matrix.js';
import { svd } from './svd.js';
import { chooseSvdProvider, mapConcurrent, type SvdProvider, svdSelection } from './svd-provider.js';
import { memoryWeightSource } from './weight-source.js';

/** An injected provider (rank's own SVD behind a timer) that counts calls and the most SVDs in flight at once. */
function countingProvider(concurrency: number) {
  const stats = { calls: 0, inFlight: 0, maxInFlight: 0 };
  const provider: SvdProvider = {
    name: 'counting',
    concurrency,
    svd: async (a, o = {}) => {
      stats.calls++;
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      await new Promise((r) => setTimeout(r, 2));
      stats.inFlight--;
      return svd(a, o);
    },
  };
  return { provider, stats };
}

function model(layers: number) {
  const base: Record<string, Matrix> = {};
  const finetuned: Record<string, Matrix> = {};
  let seed = 1;
  for (let layer = 0; layer < layers; layer++) {
    for (const module of ['q_proj', 'v_proj']) {
      const key = `model.layers.${layer}.self_attn.${module}.weight`;
      const w = uniformMatrix(12, 10, seed++);
      const noise = uniformMatrix(12, 10, seed++);
      base[key] = w;
      finetuned[key] = { rows: 12, cols: 10, data: w.data.map((x, i) => x + 0.1 * noise.data[i]!) };
    }
  }
  return { base: memoryWeightSource(base), finetuned: memoryWeightSource(finetuned) };
}

describe('svdSelection (LORALAB_RANK_SVD)', () => {
  it('reads auto, native and wasm, and rejects anything else with the variable named', () => {
    expect(svdSelection({})).toBe('auto');
    expect(svdSelection({ LORALAB_RANK_SVD: ' WASM ' })).toBe('wasm');
    expect(svdSelection({ LORALAB_RANK_SVD: 'native' })).toBe('native');
    expect(() => svdSelection({ LORALAB_RANK_SVD: 'lapack' })).toThrow(
      /LORALAB_RANK_SVD.*auto, native or wasm/,
    );
  });
});

describe('chooseSvdProvider', () => {
  const { provider } = countingProvider(3);
  it('takes the injected provider unless LORALAB_RANK_SVD=wasm, and owns only the one it creates', async () => {
    const auto = chooseSvdProvider(provider, 1, {});
    expect([auto.provider.name, auto.provider.concurrency, auto.owned]).toEqual(['counting', 3, false]);
    const forced = chooseSvdProvider(provider, 2, { LORALAB_RANK_SVD: 'wasm' });
    expect([forced.provider.name, forced.provider.concurrency, forced.owned]).toEqual(['wasm', 2, true]);
    await forced.provider.close?.();
    const none = chooseSvdProvider(null, 0, {});
    expect([none.provider.name, none.provider.concurrency]).toEqual(['wasm', 1]);
  });

  it('is a ConfigError when native is asked for and no provider was given', () => {
    expect(() => chooseSvdProvider(undefined, 1, { LORALAB_RANK_SVD: 'native' })).toThrow(ConfigError);
  });

  it('rejects non-finite input with a DataError before the provider sees it', async () => {
    const { provider: p, stats } = countingProvider(1);
    const data = new Float64Array(6);
    data[4] = Number.POSITIVE_INFINITY;
    await expect(chooseSvdProvider(p, 1, {}).provider.svd({ rows: 2, cols: 3, data })).rejects.toThrow(
      /non-finite entry Infinity at row 1, column 1/,
    );
    await expect(chooseSvdProvider(p, 1, {}).provider.svd({ rows: 2, cols: 3, data })).rejects.toThrow(
      DataError,
    );
    expect(stats.calls).toBe(0);
  });
});

describe('mapConcurrent', () => {
  it('keeps input order, never exceeds the limit, and starts nothing after a failure', async () => {
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const out = await mapConcurrent([5, 1, 4, 2, 3], 2, async (x, i) => {
      started.push(i);
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, x));
      running--;
      return x * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
    expect(started.sort()).toEqual([0, 1, 2, 3, 4]);
    const seen: number[] = [];
    await expect(
      mapConcurrent([0, 1, 2, 3, 4, 5], 1, async (x) => {
        seen.push(x);
        if (x === 2) throw new Error('boom');
        return x;
      }),
    ).rejects.toThrow('boom');
    expect(seen).toEqual([0, 1, 2]);
  });
});

describe('analyseCheckpoints with an injected SVD provider', () => {
  it('runs every SVD on it, several matrices at once, with the same report as the wasm path', async () => {
    const { base, finetuned } = model(3);
    const reference = await analyseCheckpoints(base, finetuned, { workers: 0 });
    expect(reference.svd).toBe('wasm');
    const { provider, stats } = countingProvider(3);
    const done: number[] = [];
    const report = await analyseCheckpoints(base, finetuned, {
      svd: provider,
      onMatrix: (_m, n) => done.push(n),
    });
    expect(report.svd).toBe('counting');
    // 6 matrices × (W, W′, ΔW, Gaussian, 2 noise baselines)
    expect(stats.calls).toBe(36);
    // more than one matrix's six SVDs were in flight: matrices ran in parallel
    expect(stats.maxInFlight).toBeGreaterThan(5);
    expect(done).toEqual([1, 2, 3, 4, 5, 6]);
    expect(report.matrices.map((m) => m.name)).toEqual(reference.matrices.map((m) => m.name));
    expect(report.matrices).toEqual(reference.matrices);
  });

  it('one matrix at a time with parallelMatrices: 1; LORALAB_RANK_SVD=wasm bypasses the provider', async () => {
    const { base, finetuned } = model(2);
    const { provider, stats } = countingProvider(4);
    await analyseCheckpoints(base, finetuned, { svd: provider, parallelMatrices: 1 });
    expect(stats.maxInFlight).toBeLessThanOrEqual(5); // ΔW, W, W′ and two noise baselines; the Gaussian waits for ‖ΔW‖
    const saved = process.env.LORALAB_RANK_SVD;
    process.env.LORALAB_RANK_SVD = 'wasm';
    try {
      const calls = stats.calls;
      const report = await analyseCheckpoints(base, finetuned, { svd: provider, workers: 0 });
      expect(report.svd).toBe('wasm');
      expect(stats.calls).toBe(calls);
    } finally {
      if (saved === undefined) delete process.env.LORALAB_RANK_SVD;
      else process.env.LORALAB_RANK_SVD = saved;
    }
    await expect(analyseCheckpoints(base, finetuned, { svd: provider, parallelMatrices: 0 })).rejects.toThrow(
      ConfigError,
    );
  });
});
