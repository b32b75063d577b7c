import { describe, expect, it } from 'vitest';
import { resolveTrainConfig, type TrainConfig } from './config.js';
import { ConfigError } from './errors.js';

const base: TrainConfig = {
  outputDir: '/tmp/run',
  method: 'full',
  task: 'cpt',
  model: { path: '/models/base' },
  data: { train: '/data/train', seqLen: 128, microBatchSize: 4 },
  optimizer: { name: 'adamw', lr: 1e-4 },
  schedule: { name: 'cosine', warmupRatio: 0.1 },
};

function error(over: Record<string, unknown>): ConfigError {
  try {
    resolveTrainConfig({ ...base, ...over } as TrainConfig);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveTrainConfig', () => {
  it('fills the defaults', () => {
    const c = resolveTrainConfig(base);
    expect(c.gradAccumulation).toBe(1);
    expect(c.clipGradNorm).toBe(1);
    expect(c.epochs).toBe(1); // no steps, maxTokens or epochs: one epoch
    expect(c.optimizer).toEqual({
      name: 'adamw',
      lr: 1e-4,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0,
      noDecay: ['norm.weight', '.bias'],
    });
    expect(c.data).toEqual({
      train: '/data/train',
      eval: null,
      seqLen: 128,
      microBatchSize: 4,
      shuffle: true,
      epochs: null,
      shuffleBlock: 4096,
    });
    expect(c.schedule.minLrRatio).toBe(0);
    expect(c.precision).toBe('fp32');
    expect(resolveTrainConfig({ ...base, optimizer: { name: 'lion', lr: 1e-5 } }).optimizer.beta2).toBe(0.95);
    expect(resolveTrainConfig({ ...base, steps: 10 }).epochs).toBeNull();
    expect(JSON.parse(JSON.stringify(c))).toEqual(c);
  });

  it('is idempotent: a resolved config resolves to itself', () => {
    for (const c of [
      base,
      {
        ...base,
        method: 'lora',
        lora: { r: 4 },
        optimizer: { name: 'lion', lr: 1e-4 },
        steps: 5,
      } as TrainConfig,
    ]) {
      const once = resolveTrainConfig(c);
      expect(resolveTrainConfig(once as TrainConfig)).toEqual(once);
    }
  });

  it('rejects unknown keys at every level, naming the key', () => {
    expect(error({ lerning_rate: 1 }).key).toBe('lerning_rate');
    expect(error({ optimizer: { name: 'adamw', lr: 1, momentum: 0.9 } }).message).toMatch(
      /unknown key 'optimizer.momentum'/,
    );
    expect(error({ data: { ...base.data, batch: 3 } }).key).toBe('data.batch');
    expect(error({ schedule: { name: 'cosine', warmup: 3 } }).key).toBe('schedule.warmup');
    expect(error({ dropout: { mlp: 0.1 } }).key).toBe('dropout.mlp');
    expect(error({ model: { path: '/x', revision: 'main' } }).key).toBe('model.revision');
    expect(error({ method: 'lora', lora: { rank: 8 } }).key).toBe('lora.rank');
  });

  it('rejects bad values with what was expected and found', () => {
    expect(error({ method: 'qlora' }).message).toMatch(
      /TrainConfig.method must be "full" or "lora", found "qlora"/,
    );
    expect(error({ optimizer: { name: 'adamw', lr: -1 } }).key).toBe('optimizer.lr');
    expect(error({ optimizer: { name: 'sgd', lr: 1 } }).key).toBe('optimizer.name');
    expect(error({ optimizer: { name: 'lion', lr: 1, eps: 1e-8 } }).key).toBe('optimizer.eps');
    expect(error({ optimizer: { name: 'adamw', lr: 1, beta2: 1 } }).key).toBe('optimizer.beta2');
    expect(error({ data: { ...base.data, seqLen: 0 } }).key).toBe('data.seqLen');
    expect(error({ gradAccumulation: 1.5 }).key).toBe('gradAccumulation');
    expect(error({ dropout: { attention: 1 } }).key).toBe('dropout.attention');
    expect(error({ schedule: { name: 'step' } }).key).toBe('schedule.name');
    expect(error({ clipGradNorm: 0 }).key).toBe('clipGradNorm');
    expect(error({ outputDir: '' }).key).toBe('outputDir');
    expect(error({ model: { repo: 'x' } }).key).toBe('model');
    expect(error({ outputDir: undefined }).message).toMatch(/outputDir must be given/);
    expect(error({ precision: 'fp16' }).message).toMatch(
      /TrainConfig.precision must be "fp32" or "bf16", found "fp16"/,
    );
  });

  it('checks cross-field rules', () => {
    expect(error({ lora: { r: 8 } }).key).toBe('lora'); // lora config with method full
    expect(error({ loraPlusRatio: 16 }).key).toBe('loraPlusRatio'); // LoRA+ with method full
    expect(error({ method: 'lora', freezeEmbeddings: true }).key).toBe('freezeEmbeddings');
    expect(error({ precision: 'bf16', backend: 'wasm' }).message).toMatch(/native/); // no bf16 products on wasm
    expect(resolveTrainConfig({ ...base, precision: 'bf16', backend: 'native' }).precision).toBe('bf16');
    expect(error({ schedule: { name: 'cosine', warmupSteps: 10, warmupRatio: 0.1 } }).key).toBe(
      'schedule.warmupRatio',
    );
    expect(error({ schedule: { name: 'cosine', cooldownSteps: 10 } }).key).toBe('schedule.cooldownSteps');
    expect(error({ schedule: { name: 'constant', cooldownSteps: 5, cooldownRatio: 0.1 } }).key).toBe(
      'schedule.cooldownRatio',
    );
    expect(error({ schedule: { name: 'cosine', timescale: 10 } }).key).toBe('schedule.timescale');
    expect(error({ epochs: 2, data: { ...base.data, epochs: 3 } }).key).toBe('epochs');
    const lora = resolveTrainConfig({
      ...base,
      method: 'lora',
      lora: { r: 16, lora_alpha: 32 },
      loraPlusRatio: 16,
    });
    expect(lora.lora).toEqual({ r: 16, lora_alpha: 32 });
  });
});
