import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../config-file.js';
import { resolveExperimentConfig } from './config.js';
import { chooseLr, lrLabel, planUnits, sweepOf, unitsOfRank } from './plan.js';

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

  it('plans each swept lr at the first seed, then every seed at the chosen lr, with deterministic ids', () => {
    const units = planUnits(config);
    expect(units.map((u) => u.id)).toEqual([
      'f--lr1e-4--s0',
      'f--lr3e-4--s0',
      'l--lr1e-2--s0',
      'f--best--s0',
      'f--best--s1',
    ]);
    expect(units.map((u) => u.index)).toEqual([0, 1, 2, 3, 4]);
    expect(units.map((u) => u.stage)).toEqual(['sweep', 'sweep', 'chosen', 'chosen', 'chosen']);
    expect(units[0]).toMatchObject({
      lr: 1e-4,
      seed: 0,
      steps: 7,
      microBatchSize: config.finetune.microBatchSize,
      schedule: 'cosine',
    });
    expect(units[2]).toMatchObject({ lr: 1e-2, seed: config.seed, steps: 9, microBatchSize: 3 });
    // the chosen lr is decided by the sweep when the unit runs
    expect(units[4]).toMatchObject({ lr: null, seed: 1, steps: 7 });
    expect(sweepOf(units, units[4]!).map((u) => u.id)).toEqual(['f--lr1e-4--s0', 'f--lr3e-4--s0']);
    expect(sweepOf(units, units[2]!)).toEqual([]);
    expect(planUnits(config)).toEqual(units);
  });

  it('chooses the lowest validation loss; a diverged lr never wins; ties keep the sweep order', () => {
    expect(chooseLr([3, 2, 2.5])).toBe(1);
    expect(chooseLr([Number.NaN, 4, 4])).toBe(1);
    expect(chooseLr([5, Number.POSITIVE_INFINITY, 5])).toBe(0);
    expect(chooseLr([Number.NaN, Number.NaN])).toBe(0);
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

describe('examples/code-ift.yaml', () => {
  it('resolves against the default preset: the code IFT condition at 400 steps, two swept arms with two seeds', () => {
    const file = fileURLToPath(new URL('../../examples/code-ift.yaml', import.meta.url));
    const config = resolveExperimentConfig(loadConfigFile(file));
    const units = planUnits(config);
    expect(units.map((u) => u.id)).toEqual([
      'ift-code-full--lr3e-4--s0',
      'ift-code-full--lr1e-3--s0',
      'ift-code-full--lr3e-3--s0',
      'ift-code-lora-r16--lr1e-3--s0',
      'ift-code-lora-r16--lr3e-3--s0',
      'ift-code-lora-r16--lr1e-2--s0',
      'ift-code-full--best--s0',
      'ift-code-full--best--s1',
      'ift-code-lora-r16--best--s0',
      'ift-code-lora-r16--best--s1',
    ]);
    expect(new Set(units.map((u) => `${u.arm.task}-${u.arm.domain}:${u.steps}x${u.microBatchSize}`))).toEqual(
      new Set(['ift-code:400x8']),
    );
  });
});
