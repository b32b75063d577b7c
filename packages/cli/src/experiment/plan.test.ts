import { describe, expect, it } from 'vitest';
import { resolveExperimentConfig } from './config.js';
import { lrLabel, planUnits, unitsOfRank } from './plan.js';

describe('planUnits', () => {
  const config = resolveExperimentConfig(
    {
      finetune: { fullLr: 1e-3, loraLrMultiplier: 10, iftSteps: 7, cptSteps: 5 },
      arms: [
        { name: 'f', task: 'ift', method: 'full', lrSweep: [1e-4, 3e-4], seeds: [0, 1] },
        { name: 'l', task: 'cpt', domain: 'math', method: 'lora', r: 2, steps: 9, microBatchSize: 3 },
      ],
    },
    'quick',
  );

  it('expands arm × lr × seed in config order with deterministic ids and defaults from finetune', () => {
    const units = planUnits(config);
    expect(units.map((u) => u.id)).toEqual([
      'f--lr1e-4--s0',
      'f--lr1e-4--s1',
      'f--lr3e-4--s0',
      'f--lr3e-4--s1',
      'l--lr1e-2--s0',
    ]);
    expect(units.map((u) => u.index)).toEqual([0, 1, 2, 3, 4]);
    expect(units[0]).toMatchObject({
      steps: 7,
      microBatchSize: config.finetune.microBatchSize,
      schedule: 'cosine',
    });
    expect(units[4]).toMatchObject({ lr: 1e-2, seed: config.seed, steps: 9, microBatchSize: 3 });
    expect(planUnits(config)).toEqual(units);
  });

  it('deals units to ranks round-robin, every unit exactly once', () => {
    const units = planUnits(config);
    const dealt = [0, 1, 2].flatMap((r) => unitsOfRank(units, r, 3).map((u) => u.index));
    expect(dealt.sort()).toEqual([0, 1, 2, 3, 4]);
    expect(unitsOfRank(units, 1, 3).map((u) => u.index)).toEqual([1, 4]);
  });

  it('labels learning rates compactly and safely for folders', () => {
    expect(lrLabel(3e-4)).toBe('3e-4');
    expect(lrLabel(0.01)).toBe('1e-2');
    expect(lrLabel(1.5e-4)).toBe('1.5e-4');
    expect(lrLabel(2)).toBe('2e0');
  });
});
