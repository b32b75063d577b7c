// Exact resume on the cpu backend: 2N steps straight give the same per-step losses (bit for bit) and the same final
// weights as N steps, a stop, and N more from the checkpoint — with dropout, accumulation, a cosine schedule and
// shuffled data, for full finetuning (AdamW) and LoRA (LionW). Also: non-finite losses stop training with the last
// good checkpoint intact, and only the last K checkpoints are kept.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, LlamaForCausalLM, savePretrained } from '@loralab/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { readTrainerState, type TrainConfig, TrainingError, train } from '../src/index.js';
import { countingDocs, TINY, tmp, writeDataset } from './helpers.js';

let data: string;
let base: string;

beforeAll(async () => {
  await initBackend('cpu');
  data = await writeDataset(await tmp(), countingDocs(60, 5));
  base = await tmp();
  const m = new LlamaForCausalLM(TINY, { seed: 9 });
  await savePretrained(m, base);
  m.dispose();
});

function config(over: Partial<TrainConfig>): TrainConfig {
  return {
    outputDir: '',
    method: 'full',
    task: 'cpt',
    model: { path: base },
    dropout: { attention: 0.1, residual: 0.1 },
    data: { train: data, seqLen: 8, microBatchSize: 2, shuffleBlock: 16 },
    steps: 6,
    gradAccumulation: 2,
    optimizer: { name: 'adamw', lr: 5e-3, weightDecay: 0.1 },
    schedule: { name: 'cosine', warmupSteps: 2 },
    logEvery: 1,
    saveEvery: 3,
    keepLast: 5,
    backend: 'cpu',
    ...over,
  };
}

/** Per-step training losses of a run (eval lines skipped). */
async function losses(c: TrainConfig, stopAfter?: number): Promise<number[]> {
  const out: number[] = [];
  const stop = new AbortController();
  try {
    await train(c, {
      progress: false,
      signal: stop.signal,
      onLog: (m) => {
        if (m.loss === undefined) return;
        out.push(m.loss);
        if (m.step === stopAfter) stop.abort();
      },
    });
  } catch (e) {
    if (!(e instanceof TrainingError && e.reason === 'aborted')) throw e;
    expect(e.step).toBe(stopAfter);
  }
  return out;
}

const weightsFile = (dir: string, method: string) =>
  readFileSync(join(dir, 'final', method === 'lora' ? 'adapter_model.safetensors' : 'model.safetensors'));

const cases: [string, Partial<TrainConfig>][] = [
  ['full (adamw, dropout)', {}],
  [
    'lora (lion, lora_dropout, modules_to_save)',
    {
      method: 'lora',
      dropout: {},
      lora: {
        r: 4,
        lora_alpha: 8,
        lora_dropout: 0.1,
        target_modules: 'all-linear',
        modules_to_save: ['lm_head'],
      },
      optimizer: { name: 'lion', lr: 1e-3, weightDecay: 0.1 },
      loraPlusRatio: 4,
    },
  ],
];

describe('resume', () => {
  for (const [name, over] of cases) {
    it(`${name}: 6 straight steps = 3 steps, stop, resume 'auto' for 3`, { timeout: 60_000 }, async () => {
      const straight = await tmp();
      const a = await losses(config({ ...over, outputDir: straight }));
      expect(a.length).toBe(6);

      const split = await tmp();
      const first = await losses(config({ ...over, outputDir: split }), 3);
      expect(first).toEqual(a.slice(0, 3));
      expect((await readTrainerState(join(split, 'checkpoints', 'step-3'))).step).toBe(3);
      const rest: number[] = [];
      const r = await train(config({ ...over, outputDir: split, resume: 'auto' }), {
        progress: false,
        onLog: (m) => m.loss !== undefined && rest.push(m.loss),
      });
      expect(r.resumedFrom).toBe(join(split, 'checkpoints', 'step-3'));
      expect(r.steps).toBe(6);
      expect(rest).toEqual(a.slice(3)); // bit-identical losses
      expect(
        weightsFile(split, over.method ?? 'full').equals(weightsFile(straight, over.method ?? 'full')),
      ).toBe(true);
      // metrics.jsonl of the resumed run equals the straight one's, step by step
      const steps = (d: string) =>
        readFileSync(join(d, 'metrics.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).step);
      expect(steps(split)).toEqual(steps(straight));
    });
  }

  it('resumes from an explicit checkpoint path', { timeout: 60_000 }, async () => {
    const out = await tmp();
    await losses(config({ outputDir: out, steps: 4, saveEvery: 2, dropout: {} }));
    const again = await tmp();
    const r = await train(
      config({ outputDir: again, steps: 4, dropout: {}, resume: join(out, 'checkpoints', 'step-2') }),
      { progress: false },
    );
    expect(r.resumedFrom).toBe(join(out, 'checkpoints', 'step-2'));
    expect(
      readFileSync(join(again, 'final', 'model.safetensors')).equals(
        readFileSync(join(out, 'final', 'model.safetensors')),
      ),
    ).toBe(true);
  });
});

describe('resume refuses what does not fit', () => {
  it('a folder without trainer_state.json, or a checkpoint of another method', {
    timeout: 60_000,
  }, async () => {
    const out = await tmp();
    await expect(train(config({ outputDir: out, resume: base }), { progress: false })).rejects.toThrow(
      /resume: .* holds no trainer_state.json/,
    );
    await train(config({ outputDir: out, steps: 1, gradAccumulation: 1, dropout: {} }), { progress: false });
    await expect(
      train(config({ outputDir: out, steps: 1, gradAccumulation: 1, dropout: {} }), { progress: false }),
    ).rejects.toThrow(/holds checkpoints of an earlier run; set resume: 'auto'/);
    const lora = config({ outputDir: out, method: 'lora', dropout: {}, lora: { r: 2 }, resume: 'auto' });
    await expect(train(lora, { progress: false })).rejects.toThrow(
      /is of method full\/cpt, this run lora\/cpt/,
    );
  });
});

describe('failures and checkpoint rotation', () => {
  it('a non-finite loss raises TrainingError naming the step; the last good checkpoint stays intact', {
    timeout: 60_000,
  }, async () => {
    const out = await tmp();
    let err: unknown;
    try {
      // lr 1e30 puts weights near ±1e30 after the first update: the next forward overflows to Inf/NaN. The weight
      // bound of the guard is off here, to reach the non-finite loss (guard.test.ts covers the default).
      await train(
        config({
          outputDir: out,
          guard: { maxAbsWeight: null },
          dropout: {},
          clipGradNorm: null,
          saveEvery: 1,
          steps: 5,
          gradAccumulation: 1,
          optimizer: { name: 'adamw', lr: 1e30 },
          schedule: { name: 'constant' },
        }),
        { progress: false },
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TrainingError);
    const e = err as TrainingError;
    expect(e.step).toBe(2);
    expect(e.reason).toMatch(/non-finite/);
    expect(e.message).toMatch(/step 2/);
    expect(e.lastCheckpoint).toBe(join(out, 'checkpoints', 'step-1'));
    expect(readdirSync(join(out, 'checkpoints'))).toEqual(['step-1']);
    expect((await readTrainerState(e.lastCheckpoint!)).step).toBe(1);
    expect(existsSync(join(e.lastCheckpoint!, 'model.safetensors'))).toBe(true);
    expect(existsSync(join(out, 'final'))).toBe(false);
  });

  it('keeps only the last K checkpoints and leaves no temporary folders', { timeout: 60_000 }, async () => {
    const out = await tmp();
    await train(
      config({ outputDir: out, dropout: {}, steps: 7, gradAccumulation: 1, saveEvery: 2, keepLast: 2 }),
      { progress: false },
    );
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual(['step-6', 'step-7']);
    expect(readdirSync(out).sort()).toEqual([
      'checkpoints',
      'config.json',
      'final',
      'metrics.jsonl',
      'train_result.json',
    ]);
    const ck = join(out, 'checkpoints', 'step-6');
    expect(readdirSync(ck).sort()).toEqual([
      'checksums.json',
      'config.json',
      'model.safetensors',
      'optimizer.safetensors',
      'trainer_state.json',
    ]);
  });
});
