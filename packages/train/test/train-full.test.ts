// The simplest path end to end: full finetuning, continued pretraining, AdamW, constant lr, on the cpu backend.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readConfigJson } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type MetricsRecord, type TrainConfig, train } from '../src/index.js';
import { countingDocs, TINY, tmp, writeDataset } from './helpers.js';

let data: string;

beforeAll(async () => {
  data = await writeDataset(await tmp(), countingDocs(200, 1));
});

function config(outputDir: string, over: Partial<TrainConfig> = {}): TrainConfig {
  return {
    outputDir,
    method: 'full',
    task: 'cpt',
    model: { init: TINY, seed: 1 },
    data: { train: data, seqLen: 16, microBatchSize: 4 },
    steps: 30,
    optimizer: { name: 'adamw', lr: 1e-2 },
    schedule: { name: 'constant' },
    logEvery: 5,
    backend: 'cpu',
    ...over,
  };
}

describe('train (full, cpt, adamw, constant)', () => {
  it('lowers the loss and writes the run folder', { timeout: 60_000 }, async () => {
    const out = await tmp();
    const logs: MetricsRecord[] = [];
    const before = tf.memory().numTensors;
    const r = await train(config(out), { progress: false, onLog: (m) => logs.push(m) });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.steps).toBe(30);
    expect(r.tokensSeen).toBe(30 * 4 * 16);
    expect(r.finalEvalLoss).toBeNull();
    expect(r.resumedFrom).toBeNull();
    expect(r.finalDir).toBe(join(out, 'final'));
    expect(logs.map((l) => l.step)).toEqual([5, 10, 15, 20, 25, 30]);
    expect(logs[0]!.loss).toBeGreaterThan(Math.log(64) - 0.5); // starts near uniform over 64 ids
    expect(r.finalLoss).toBeLessThan(logs[0]!.loss! - 0.5);
    for (const l of logs) {
      expect(l.lr).toBe(1e-2);
      for (const k of ['grad_norm', 'tokens_per_s', 'rss_mb', 'tensor_mb', 'tokens'])
        expect(l[k]).toBeGreaterThan(0);
    }
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual(logs);
    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(saved.method).toBe('full');
    expect(saved.versions['@loralab/train']).toBe('0.1.0');
    expect(saved.clipGradNorm).toBe(1);
    expect((await readConfigJson(join(out, 'final', 'config.json'))).hidden_size).toBe(32);
    expect(existsSync(join(out, 'final', 'model.safetensors'))).toBe(true);
    expect(existsSync(join(out, 'checkpoints', 'step-30', 'trainer_state.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'train_result.json'), 'utf8'))).toEqual(r);
  });
});
