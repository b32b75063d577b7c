// train() on @loralab/kernels' native backend (`backend: 'native'`), where the optimizers run in place: exact resume
// and learning. Skipped while @loralab/model's initBackend does not know 'native' or the addon is not built.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '@loralab/model';
import { describe, expect, it } from 'vitest';
import { readTrainerState, type TrainConfig, TrainingError, train } from '../src/index.js';
import { countingDocs, TINY, tmp, writeDataset } from './helpers.js';

const native = await initBackend('native' as never).then(
  () => true,
  (e: Error) => {
    console.warn(`train native tests skipped: ${e.message.split('\n')[0]}`);
    return false;
  },
);

describe.skipIf(!native)('train on the native backend', () => {
  const config = async (over: Partial<TrainConfig>): Promise<TrainConfig> => ({
    outputDir: await tmp(),
    method: 'full',
    task: 'cpt',
    model: { init: TINY, seed: 3 },
    data: { train: await writeDataset(await tmp(), countingDocs(60, 11)), seqLen: 16, microBatchSize: 2 },
    steps: 8,
    gradAccumulation: 2,
    optimizer: { name: 'adamw', lr: 3e-3, weightDecay: 0.1 },
    schedule: { name: 'cosine', warmupSteps: 2 },
    logEvery: 1,
    backend: 'native',
    ...over,
  });

  const cases: [string, Partial<TrainConfig>][] = [
    ['full, adamw, dropout', { dropout: { attention: 0.1, residual: 0.1 } }],
    [
      'lora, lion',
      {
        method: 'lora',
        lora: { r: 4, lora_dropout: 0.1, target_modules: 'all-linear' },
        optimizer: { name: 'lion', lr: 1e-3 },
      },
    ],
  ];
  for (const [name, over] of cases) {
    it(`${name}: in-place optimizer; 8 straight steps = 4 + stop + 4, bit for bit`, {
      timeout: 60_000,
    }, async () => {
      const c = await config(over);
      const a: number[] = [];
      const straight = await train(c, {
        progress: false,
        onLog: (m) => m.loss !== undefined && a.push(m.loss),
      });
      const state = await readTrainerState(join(straight.outputDir, 'checkpoints', 'step-8'));
      expect(state.optimizer.implementation).toBe('native');
      expect(a[7]!).toBeLessThan(a[0]!);
      const b: number[] = [];
      const split = { ...c, outputDir: await tmp() };
      const stop = new AbortController();
      const onLog = (m: { step: number; loss?: number }) => {
        if (m.loss !== undefined) b.push(m.loss);
        if (m.step === 4) stop.abort();
      };
      await expect(train(split, { progress: false, signal: stop.signal, onLog })).rejects.toBeInstanceOf(
        TrainingError,
      );
      await train({ ...split, resume: 'auto' }, { progress: false, onLog });
      expect(b).toEqual(a);
      const file = over.method === 'lora' ? 'adapter_model.safetensors' : 'model.safetensors';
      expect(
        readFileSync(join(split.outputDir, 'final', file)).equals(
          readFileSync(join(straight.finalDir, file)),
        ),
      ).toBe(true);
    });
  }
});
