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
      {
        name: 'a',
        task: 'ift',
        domain: 'math',
        method: 'lora',
        r: 8,
        alpha: null,
        targetModules: 'all',
        lr: null,
        lrSweep: null,
        steps: null,
        microBatchSize: null,
        schedule: null,
        weightDecay: null,
        dropout: 0,
        seeds: null,
      },
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

  it('checks the arm fields of the plan: condition, modules, lr or lr sweep, seeds, steps, schedule', () => {
    const a = (x: object) => ({ arms: [{ name: 'x', task: 'cpt', method: 'lora', r: 4, ...x }] });
    expect(keyOf(() => resolveExperimentConfig(a({ domain: 'chem' })))).toBe('arms[0].domain');
    expect(keyOf(() => resolveExperimentConfig(a({ targetModules: 'qkv' })))).toBe('arms[0].targetModules');
    expect(keyOf(() => resolveExperimentConfig(a({ lr: 1e-3, lrSweep: [1e-3] })))).toBe('arms[0].lrSweep');
    expect(keyOf(() => resolveExperimentConfig(a({ lrSweep: [] })))).toBe('arms[0].lrSweep');
    expect(keyOf(() => resolveExperimentConfig(a({ lrSweep: [1e-3, -1] })))).toBe('arms[0].lrSweep[1]');
    expect(keyOf(() => resolveExperimentConfig(a({ seeds: [0, 0] })))).toBe('arms[0].seeds');
    expect(keyOf(() => resolveExperimentConfig(a({ steps: 0 })))).toBe('arms[0].steps');
    expect(keyOf(() => resolveExperimentConfig(a({ schedule: 'step' })))).toBe('arms[0].schedule');
    expect(
      keyOf(() =>
        resolveExperimentConfig({ arms: [{ name: 'x', task: 'ift', method: 'full', targetModules: 'mlp' }] }),
      ),
    ).toBe('arms[0].targetModules');
    const c = resolveExperimentConfig(
      a({ domain: 'math', targetModules: 'mlp', lrSweep: [1e-3, 3e-3], seeds: [0, 1] }),
    );
    expect(c.arms[0]).toMatchObject({
      domain: 'math',
      targetModules: 'mlp',
      lrSweep: [1e-3, 3e-3],
      seeds: [0, 1],
    });
  });

  it('the default preset covers the four conditions with a 3-point lr sweep, 2 seeds per headline arm, ranks far below the width', () => {
    const conditions = new Set(DEFAULT_EXPERIMENT.arms.map((a) => `${a.task}-${a.domain}`));
    expect(conditions).toEqual(new Set(['ift-math', 'ift-code', 'cpt-math', 'cpt-code']));
    for (const c of conditions) {
      const headline = DEFAULT_EXPERIMENT.arms.filter((a) => `${a.task}-${a.domain}` === c && a.lrSweep);
      expect(headline.map((a) => a.method).sort()).toEqual(['full', 'lora']);
      for (const a of headline) {
        expect(a.lrSweep!.length).toBeGreaterThanOrEqual(3);
        expect(a.seeds!.length).toBeGreaterThanOrEqual(2);
      }
    }
    // learning curves: the base (step 0) and at least 3 points along training
    expect(DEFAULT_EXPERIMENT.finetune.evalPoints).toBeGreaterThanOrEqual(3);
    // the paper's regime: LoRA ranks at most 1/16 of the width (its 16..256 of 4096)
    const ranks = DEFAULT_EXPERIMENT.arms.filter((a) => a.method === 'lora').map((a) => a.r!);
    expect(ranks.length).toBeGreaterThanOrEqual(3);
    for (const r of ranks) expect(r / DEFAULT_EXPERIMENT.model.hidden_size).toBeLessThanOrEqual(1 / 16);
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
