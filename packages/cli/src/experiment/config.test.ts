import { describe, expect, it } from 'vitest';
import { DEFAULT_EXPERIMENT, QUICK_EXPERIMENT, resolveExperimentConfig } from './config.js';
import { ConfigError } from './errors.js';

function keyOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).key;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveExperimentConfig', () => {
  it('returns the presets unchanged for an empty config, as independent copies', () => {
    const d = resolveExperimentConfig({});
    expect(d).toEqual(DEFAULT_EXPERIMENT);
    d.finetune.fullLr = 1;
    expect(DEFAULT_EXPERIMENT.finetune.fullLr).not.toBe(1);
    expect(resolveExperimentConfig(undefined, 'quick')).toEqual(QUICK_EXPERIMENT);
  });

  it('merges nested keys and replaces arms and sources whole', () => {
    const c = resolveExperimentConfig({
      seed: 3,
      finetune: { fullLr: 2e-4 },
      data: { mathTest: { kind: 'jsonl', paths: ['gsm8k/test.jsonl'] } },
      arms: [{ name: 'a', task: 'ift', method: 'lora', r: 8 }],
    });
    expect(c.seed).toBe(3);
    expect(c.finetune.fullLr).toBe(2e-4);
    expect(c.finetune.iftSteps).toBe(DEFAULT_EXPERIMENT.finetune.iftSteps);
    expect(c.data.mathTest).toEqual({ kind: 'jsonl', paths: ['gsm8k/test.jsonl'] });
    expect(c.arms).toEqual([
      { name: 'a', task: 'ift', method: 'lora', r: 8, alpha: null, weightDecay: null, dropout: 0 },
    ]);
  });

  it('rejects unknown keys with their path', () => {
    expect(keyOf(() => resolveExperimentConfig({ finetune: { lr: 1 } }))).toBe('finetune.lr');
    expect(keyOf(() => resolveExperimentConfig({ bogus: 1 }))).toBe('bogus');
    expect(
      keyOf(() => resolveExperimentConfig({ arms: [{ name: 'x', task: 'ift', method: 'full', rank: 2 }] })),
    ).toBe('arms[0].rank');
    expect(
      keyOf(() => resolveExperimentConfig({ data: { source: { kind: 'jsonl', paths: ['a'], bad: 1 } } })),
    ).toMatch(/^data\.source/);
  });

  it('checks types, ranges and cross-field rules', () => {
    expect(keyOf(() => resolveExperimentConfig({ seed: 'x' }))).toBe('seed');
    expect(keyOf(() => resolveExperimentConfig({ finetune: { optimizer: 'sgd' } }))).toBe(
      'finetune.optimizer',
    );
    expect(keyOf(() => resolveExperimentConfig({ model: { num_attention_heads: 5 } }))).toBe(
      'model.num_attention_heads',
    );
    expect(keyOf(() => resolveExperimentConfig({ arms: [{ name: 'x', task: 'ift', method: 'lora' }] }))).toBe(
      'arms[0].r',
    );
    expect(
      keyOf(() => resolveExperimentConfig({ arms: [{ name: 'x', task: 'ift', method: 'full', r: 4 }] })),
    ).toBe('arms[0].r');
    const dup = { name: 'x', task: 'ift', method: 'full' };
    expect(keyOf(() => resolveExperimentConfig({ arms: [dup, dup] }))).toBe('arms[1].name');
    expect(keyOf(() => resolveExperimentConfig({ finetune: { cptSteps: 0 } }))).toMatch(/^arms\[\d+\]$/);
    expect(keyOf(() => resolveExperimentConfig({ finetune: { seqLen: 4096 } }))).toBe('finetune.seqLen');
    expect(keyOf(() => resolveExperimentConfig({}, 'fast' as 'quick'))).toBe('preset');
  });

  it('accepts a Hugging Face base folder and null clipping', () => {
    const c = resolveExperimentConfig({
      baseModel: '/models/llama',
      finetune: { clipGradNorm: null, seqLen: 1024 },
    });
    expect(c.baseModel).toBe('/models/llama');
    expect(c.finetune.clipGradNorm).toBeNull();
  });
});
