// The divergence and collapse guard (issue #16): a run that explodes stops with DivergenceError naming a last good
// checkpoint whose weights are finite and bounded; a collapse (gradient norm 0 for K steps) stops with CollapseError
// naming the step range; a loss above the bound stops too; and --steps past one epoch cycles the data instead of
// stopping early (or is refused when epochs are set).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, LlamaForCausalLM, readSafetensors, savePretrained } from '@loralab/model';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CollapseError,
  ConfigError,
  DivergenceError,
  type MetricsRecord,
  readTrainerState,
  resolveGuardConfig,
  type TrainConfig,
  train,
} from '../src/index.js';
import { countingDocs, TINY, tmp, writeDataset } from './helpers.js';

let data: string;
let base: string;

beforeAll(async () => {
  await initBackend('wasm');
  data = await writeDataset(await tmp(), countingDocs(20, 3));
  base = await tmp();
  const m = new LlamaForCausalLM(TINY, { seed: 2 });
  await savePretrained(m, base);
  m.dispose();
});

function config(over: Partial<TrainConfig>): TrainConfig {
  return {
    outputDir: '',
    method: 'full',
    task: 'cpt',
    model: { path: base },
    data: { train: data, seqLen: 8, microBatchSize: 4 },
    steps: 6,
    optimizer: { name: 'adamw', lr: 1e-2 },
    schedule: { name: 'constant' },
    logEvery: 1,
    saveEvery: 1,
    keepLast: 10,
    backend: 'wasm',
    ...over,
  };
}

async function failure(c: TrainConfig): Promise<unknown> {
  try {
    await train(c, { progress: false });
  } catch (e) {
    return e;
  }
  throw new Error('expected training to fail');
}

/** Largest |w| in a checkpoint's model.safetensors (Infinity for NaN/Inf). */
async function maxAbsIn(dir: string): Promise<number> {
  const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
  let m = 0;
  for (const t of tensors.values())
    for (const x of t.data) m = Number.isFinite(x) ? Math.max(m, Math.abs(x)) : Infinity;
  return m;
}

describe('the weight bound', () => {
  it('a run that explodes stops with DivergenceError; the last good checkpoint it names has bounded weights', {
    timeout: 60_000,
  }, async () => {
    const out = await tmp();
    await train(config({ outputDir: out, steps: 3 }), { progress: false });
    // Resume with lr 1e30: after step 4 the weights are near ±1e30 (before the guard, step-4 was written and
    // named "the last good checkpoint" when the loss went NaN at step 5).
    const e = await failure(
      config({ outputDir: out, steps: 8, resume: 'auto', optimizer: { name: 'adamw', lr: 1e30 } }),
    );
    expect(e).toBeInstanceOf(DivergenceError);
    const d = e as DivergenceError;
    expect(d.name).toBe('DivergenceError');
    expect([d.reason, d.metric, d.fromStep, d.toStep, d.step]).toEqual([
      'diverged',
      'max_abs_weight',
      4,
      4,
      4,
    ]);
    expect(d.value).toBeGreaterThan(1e4);
    expect(d.bound).toBe(1e4);
    expect(d.message).toMatch(
      /^step 4: the weights diverged \(checked last at step 3\): max \|w\| = .* in .*, above guard.maxAbsWeight 1\.00e\+4/,
    );
    expect(d.lastCheckpoint).toBe(join(out, 'checkpoints', 'step-3'));
    expect(d.message).toContain(`The last good checkpoint is ${d.lastCheckpoint}`);
    expect((await readTrainerState(d.lastCheckpoint!)).step).toBe(3);
    // Every checkpoint on disk, the named one included, is finite and bounded; no final folder.
    const ckpts = readdirSync(join(out, 'checkpoints'));
    expect(ckpts.sort()).toEqual(['step-1', 'step-2', 'step-3']);
    for (const c of ckpts) expect(await maxAbsIn(join(out, 'checkpoints', c))).toBeLessThan(10);
    // final/ is the first run's (3 steps), not overwritten.
    expect(await maxAbsIn(join(out, 'final'))).toBeLessThan(10);
  });

  it('a checkpoint beyond the bound is refused as a starting point', { timeout: 60_000 }, async () => {
    const out = await tmp();
    await train(
      config({
        outputDir: out,
        steps: 2,
        guard: { maxAbsWeight: null },
        optimizer: { name: 'adamw', lr: 1e30 },
      }),
      {
        progress: false,
      },
    ).catch(() => {});
    const e = await failure(config({ outputDir: out, steps: 4, resume: 'auto' }));
    expect(e).toBeInstanceOf(DivergenceError);
    expect((e as Error).message).toMatch(/^the starting weights \(.*checkpoints\/step-\d\) are unusable/);
  });
});

describe('collapse and loss bound', () => {
  it('lr 3e3 collapses the model: CollapseError after K steps of gradient norm 0, saves deferred in the streak', {
    timeout: 60_000,
  }, async () => {
    const out = await tmp();
    const logs: MetricsRecord[] = [];
    let err: unknown;
    try {
      await train(
        config({
          outputDir: out,
          steps: 40,
          optimizer: { name: 'adamw', lr: 3e3 },
          guard: { maxAbsWeight: null, maxLoss: null, zeroGradSteps: 4 },
        }),
        { progress: false, onLog: (r) => logs.push(r) },
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CollapseError);
    const c = err as CollapseError;
    expect([c.name, c.reason, c.metric]).toEqual(['CollapseError', 'collapsed', 'grad_norm']);
    expect(c.toStep - c.fromStep).toBe(3);
    expect(c.message).toMatch(
      new RegExp(
        `^steps ${c.fromStep}-${c.toStep}: the gradient norm was 0 for 4 consecutive steps \\(guard.zeroGradSteps 4\\)`,
      ),
    );
    // The metrics agree: grad_norm 0 exactly on those steps, not on the one before.
    const norms = new Map(logs.map((r) => [r.step, r.grad_norm]));
    for (let s = c.fromStep; s <= c.toStep; s++) expect(norms.get(s)).toBe(0);
    expect(norms.get(c.fromStep - 1)).toBeGreaterThan(0);
    // No checkpoint was written inside the streak; the named one is the last before it.
    const steps = readdirSync(join(out, 'checkpoints')).map((n) => Number(n.slice(5)));
    expect(Math.max(...steps)).toBe(c.fromStep - 1);
    expect(c.lastCheckpoint).toBe(join(out, 'checkpoints', `step-${c.fromStep - 1}`));
  });

  it('a loss above guard.maxLoss for maxLossSteps steps is a DivergenceError; no checkpoint in the streak', {
    timeout: 60_000,
  }, async () => {
    const out = await tmp();
    const e = await failure(config({ outputDir: out, guard: { maxLoss: 0.5, maxLossSteps: 2 } }));
    expect(e).toBeInstanceOf(DivergenceError);
    const d = e as DivergenceError;
    expect([d.metric, d.fromStep, d.toStep, d.bound, d.lastCheckpoint]).toEqual(['loss', 1, 2, 0.5, null]);
    expect(d.message).toMatch(
      /^steps 1-2: the loss stayed above 0\.5 \(guard.maxLoss\) for 2 consecutive steps/,
    );
    expect(d.message).toContain('No good checkpoint was written');
    expect(readdirSync(out)).not.toContain('checkpoints');
  });

  it('resolveGuardConfig: defaults, and a ConfigError naming the key', () => {
    expect(resolveGuardConfig({})).toEqual({
      maxAbsWeight: 1e4,
      zeroGradSteps: 10,
      maxLoss: 'auto',
      maxLossSteps: 10,
    });
    const key = (g: unknown) => {
      try {
        resolveGuardConfig(g);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).key;
      }
      return null;
    };
    expect(key({ maxAbsWeight: -1 })).toBe('guard.maxAbsWeight');
    expect(key({ zeroGradSteps: 0 })).toBe('guard.zeroGradSteps');
    expect(key({ maxLoss: 'high' })).toBe('guard.maxLoss');
    expect(key({ maxLossSteps: 1.5 })).toBe('guard.maxLossSteps');
    expect(key({ patience: 3 })).toBe('guard.patience');
  });
});

describe('steps past one epoch', () => {
  // 20 documents of 26 tokens = 520 tokens = 57 sequences of 9: 15 steps of 4 per epoch (the last of 1).
  it('without epochs, the data repeats until steps; metrics carry the epoch', {
    timeout: 60_000,
  }, async () => {
    const logs: MetricsRecord[] = [];
    const result = await train(config({ outputDir: await tmp(), steps: 33, saveEvery: null, logEvery: 5 }), {
      progress: false,
      onLog: (r) => logs.push(r),
    });
    expect(result.steps).toBe(33);
    expect(result.stepsPerEpoch).toBe(15);
    expect(result.epochs).toBeCloseTo((33 * 4) / 57, 10);
    expect(logs.at(-1)!.step).toBe(33);
    for (const r of logs) expect(r.epoch).toBeCloseTo((r.step * 4) / 57, 10);
  });

  it('with epochs set, steps beyond them is a ConfigError stating the epoch length', {
    timeout: 60_000,
  }, async () => {
    const e = await failure(config({ outputDir: await tmp(), steps: 33, epochs: 1 }));
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).message).toBe(
      'TrainConfig.steps: steps 33 exceeds the 15 steps of epochs 1: one epoch is 57 samples (sequences of 8 tokens), 15 steps of 4; set epochs to 3 or null (the data then repeats until steps is reached), or steps to at most 15',
    );
    const ok = await train(config({ outputDir: await tmp(), steps: 33, epochs: 3, saveEvery: null }), {
      progress: false,
    });
    expect(ok.steps).toBe(33);
  });
});
