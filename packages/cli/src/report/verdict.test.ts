import { describe, expect, it } from 'vitest';
import { PAPER_LIKE, type SyntheticArm, syntheticResults } from '../../test/synthetic-results.js';
import { compare, computeVerdict, decide, pairedDifference } from './verdict.js';

const outcomes = (arms: SyntheticArm[], spread?: number) =>
  Object.fromEntries(computeVerdict(syntheticResults(arms, spread)).map((f) => [f.id, f.outcome]));

const edit = (patch: (a: SyntheticArm) => Partial<SyntheticArm>) =>
  PAPER_LIKE.map((a) => ({ ...a, ...patch(a) }));

describe('pairedDifference', () => {
  it('is the mean difference with 2 standard errors of the paired differences', () => {
    // d = [1, 2, 3]: mean 2, sample sd 1, SE 1/sqrt(3).
    const r = pairedDifference([2, 4, 6], [1, 2, 3]);
    expect(r.mean).toBeCloseTo(2, 12);
    expect(r.noise).toBeCloseTo(2 / Math.sqrt(3), 12);
    expect(pairedDifference([1], [2]).noise).toBeNaN();
    expect(pairedDifference([1, 2], [1]).mean).toBeNaN();
  });
});

describe('compare and decide', () => {
  const c = (a: number[], b: number[], sign: 1 | -1) =>
    compare(
      'ift',
      { name: 'a', value: a.reduce((s, x) => s + x) / a.length, items: a },
      { name: 'b', value: b.reduce((s, x) => s + x) / b.length, items: b },
      'm',
      sign,
    );
  it('reads the direction against the noise', () => {
    expect(c([2, 2.1, 1.9], [1, 1.1, 0.9], 1).direction).toBe('paper');
    expect(c([2, 2.1, 1.9], [1, 1.1, 0.9], -1).direction).toBe('against');
    expect(c([1, 2, 0], [1.1, 0.2, 1.5], 1).direction).toBe('within noise');
    expect(
      compare(
        'ift',
        { name: 'a', value: 2, items: undefined },
        { name: 'b', value: 1, items: undefined },
        'm',
        1,
      ).direction,
    ).toBe('within noise');
  });
  it('turns comparisons into an outcome', () => {
    const d = (...ds: ('paper' | 'against' | 'within noise')[]) =>
      decide(ds.map((direction) => ({ direction }) as never));
    expect(d('paper', 'paper', 'within noise')).toBe('reproduced');
    expect(d('paper', 'within noise', 'within noise')).toBe('inconclusive');
    expect(d('paper', 'against')).toBe('not reproduced');
    expect(d('paper', 'paper', 'against')).toBe('inconclusive');
    expect(d('against')).toBe('not reproduced');
    expect(d()).toBe('inconclusive');
  });
});

describe('computeVerdict', () => {
  it('reproduces every finding on paper-like numbers', () => {
    expect(outcomes(PAPER_LIKE)).toEqual({
      'learns-less': 'reproduced',
      'forgets-less': 'reproduced',
      'higher-rank': 'reproduced',
      'more-diverse': 'reproduced',
    });
  });

  it('says "not reproduced" when the numbers go the other way', () => {
    const flipped = edit((a) =>
      a.method === 'lora' ? { targetLoss: 0.8, sourceBpb: 2.9, diversity: 0.1, rank: 60 } : {},
    );
    expect(outcomes(flipped)).toEqual({
      'learns-less': 'not reproduced',
      'forgets-less': 'not reproduced',
      'higher-rank': 'not reproduced',
      'more-diverse': 'not reproduced',
    });
  });

  it('says "inconclusive" when the differences are within noise', () => {
    // LoRA equal to full up to item noise: every difference is far inside 2 SE at this spread.
    const same = edit((a) =>
      a.method === 'lora' ? { targetLoss: 1.001, sourceBpb: 2.599, diversity: 0.301, rank: 40 } : {},
    );
    const o = outcomes(same, 0.5);
    expect(o['learns-less']).toBe('inconclusive');
    expect(o['forgets-less']).toBe('inconclusive');
    expect(o['more-diverse']).toBe('inconclusive');
  });

  it('is inconclusive without a full-finetuning reference or without LoRA arms', () => {
    const o = outcomes(PAPER_LIKE.filter((a) => a.method === 'lora'));
    expect(new Set(Object.values(o))).toEqual(new Set(['inconclusive']));
    const f = computeVerdict(syntheticResults(PAPER_LIKE.filter((a) => a.method === 'full')));
    expect(f.every((x) => x.outcome === 'inconclusive' && x.comparisons.length === 0)).toBe(true);
  });

  it('states the numbers it rests on and shows regularised full arms as context', () => {
    const f = computeVerdict(syntheticResults(PAPER_LIKE));
    const forget = f.find((x) => x.id === 'forgets-less')!;
    expect(forget.summary).toContain('ift-lora-r4 2.1 vs ift-full 2.6');
    expect(forget.context.some((c) => c.arm === 'ift-full-wd' && c.metric === 'source_bpb')).toBe(true);
    expect(forget.comparisons.map((c) => c.arm)).toEqual(['ift-lora-r4', 'ift-lora-r16']);
  });
});
