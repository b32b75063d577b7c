// A tiny model learns (wasm backend): on the counting task (each token after the first of a run is the previous one + 1) the
// held-out loss falls from ln 64 ≈ 4.16 (uniform) to below 1.0 nats within 150 steps, by full finetuning and by LoRA.
// The floor is about 0.3: the first token of each 26-token document is a uniform guess among 61 ids.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type MetricsRecord, type TrainConfig, train } from '../src/index.js';
import { countingDocs, TINY, tmp, writeDataset } from './helpers.js';

const THRESHOLD = 1.0;
let trainDir: string;
let evalDir: string;

beforeAll(async () => {
  trainDir = await writeDataset(await tmp(), countingDocs(400, 11));
  evalDir = await writeDataset(await tmp(), countingDocs(40, 12));
});

function config(over: Partial<TrainConfig>): TrainConfig {
  return {
    outputDir: '',
    method: 'full',
    task: 'cpt',
    model: { init: TINY, seed: 3 },
    data: { train: trainDir, eval: evalDir, seqLen: 32, microBatchSize: 8 },
    steps: 150,
    optimizer: { name: 'adamw', lr: 3e-3, weightDecay: 0.01 },
    schedule: { name: 'cosine', warmupSteps: 10, minLrRatio: 0.1 },
    logEvery: 50,
    evalEvery: 75,
    evalBatches: 4,
    backend: 'wasm',
    ...over,
  };
}

describe('a tiny model learns the counting task', () => {
  for (const method of ['full', 'lora'] as const) {
    it(`${method}: held-out loss < ${THRESHOLD} within 150 steps`, { timeout: 60_000 }, async () => {
      const evals: MetricsRecord[] = [];
      const before = tf.memory().numTensors;
      const r = await train(
        config({
          outputDir: await tmp(),
          method,
          ...(method === 'lora'
            ? {
                lora: { r: 8, lora_alpha: 16, target_modules: 'all-linear', modules_to_save: ['lm_head'] },
                optimizer: { name: 'adamw', lr: 1e-2 },
              }
            : {}),
        }),
        { progress: false, onLog: (m) => m['eval/loss'] !== undefined && evals.push(m) },
      );
      expect(tf.memory().numTensors).toBe(before);
      expect(evals.map((e) => e.step)).toEqual([75, 150]);
      console.log(`${method}: held-out loss ${evals.map((e) => e['eval/loss']!.toFixed(3)).join(' -> ')}`);
      expect(r.finalEvalLoss).toBe(evals[1]!['eval/loss']);
      expect(r.finalEvalLoss!).toBeLessThan(THRESHOLD);
    });
  }
});
