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
      'ift-math',
      { name: 'a', value: a.reduce((s, x) => s + x) / a.length, items: a, perSeed: [] },
      { name: 'b', value: b.reduce((s, x) => s + x) / b.length, items: b, perSeed: [] },
      'm',
      sign,
    );
  it('reads the direction against the noise', () => {
    expect(c([2, 2.1, 1.9], [1, 1.1, 0.9], 1).direction).toBe('paper');
    expect(c([2, 2.1, 1.9], [1, 1.1, 0.9], -1).direction).toBe('against');
    expect(c([1, 2, 0], [1.1, 0.2, 1.5], 1).direction).toBe('within noise');
    expect(
      compare(
        'ift-math',
        { name: 'a', value: 2, items: undefined, perSeed: [2] },
        { name: 'b', value: 1, items: undefined, perSeed: [1] },
        'm',
        1,
      ).direction,
    ).toBe('within noise');
  });
  it('adds the run-to-run spread across seeds to the item noise', () => {
    const items = { a: [2, 2.1, 1.9], b: [1, 1.1, 0.9] };
    const itemOnly = c(items.a, items.b, 1);
    // seeds of a: 1 and 3 (variance 2, SE² 1), of b: 1 and 1 (SE² 0): noise = 2 sqrt(item SE² + 1).
    const both = compare(
      'ift-math',
      { name: 'a', value: 2, items: items.a, perSeed: [1, 3] },
      { name: 'b', value: 1, items: items.b, perSeed: [1, 1] },
      'm',
      1,
    );
    expect(both.noise).toBeCloseTo(2 * Math.sqrt((itemOnly.noise / 2) ** 2 + 1), 12);
    expect(both.direction).toBe('within noise'); // the item noise alone said 'paper'
    expect(itemOnly.direction).toBe('paper');
    expect(both.seeds).toEqual([2, 2]);
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

  it('decides forgetting at matched learning along the trajectories, and reports the end point too', () => {
    const f = computeVerdict(syntheticResults(PAPER_LIKE));
    const forget = f.find((x) => x.id === 'forgets-less')!;
    // r4 learns 1.5 nats (3 → 1.5); full passes 1.5 between its midpoint (1.0, 0.3) and end (2.0, 0.6): 0.45.
    const r4 = forget.comparisons.find((c) => c.arm === 'ift-lora-r4')!;
    expect(r4.metric).toContain('at learning 1.5 nats');
    expect(r4.value).toBeCloseTo(0.1, 9);
    expect(r4.referenceValue).toBeCloseTo(0.45, 9);
    expect(forget.summary).toContain('ift-lora-r4 0.1 vs ift-full 0.45');
    expect(forget.endOutcome).toBe('reproduced');
    expect(forget.context.some((c) => c.arm === 'ift-lora-r4' && c.metric === 'source bpb at the end')).toBe(
      true,
    );
    expect(forget.context.some((c) => c.arm === 'ift-full-wd' && c.metric === 'source_bpb')).toBe(true);
    expect(forget.comparisons.map((c) => c.arm)).toEqual(['ift-lora-r4', 'ift-lora-r16']);
  });

  it('matched learning can disagree with the end point: LoRA less forgetting at the end only by learning less', () => {
    // LoRA's forgetting per unit of learning is higher than full's, but it learns far less, so it ends lower.
    const arms = [
      { ...PAPER_LIKE[0]!, targetLoss: 1.0, sourceBpb: 2.4 }, // full: 2 nats of learning for 0.4 bpb
      { ...PAPER_LIKE[1]!, targetLoss: 2.5, sourceBpb: 2.3 }, // LoRA: 0.5 nats for 0.3 bpb
    ];
    const forget = computeVerdict(syntheticResults(arms)).find((x) => x.id === 'forgets-less')!;
    expect(forget.endOutcome).toBe('reproduced');
    expect(forget.outcome).toBe('not reproduced');
  });

  it("chooses each arm's learning rate on validation loss and averages its seeds", () => {
    const arms = PAPER_LIKE.map((a) => ({
      ...a,
      seeds: 2,
      seedSpread: 0.01,
      sweep: [a.method === 'lora' ? 1e-3 : 1e-4],
    }));
    const f = computeVerdict(syntheticResults(arms));
    const learn = f.find((x) => x.id === 'learns-less')!;
    expect(learn.comparisons[0]!.value).toBeCloseTo(1.5, 9); // the chosen lr's mean, not the worse sweep point
    expect(learn.comparisons[0]!.seeds).toEqual([2, 2]);
    expect(learn.outcome).toBe('reproduced');
  });
});

describe('regulariser rows', () => {
  it('are read as more or less forgetting than plain full finetuning, not as a test of the paper', () => {
    const f = computeVerdict(syntheticResults(PAPER_LIKE)).find((x) => x.id === 'forgets-less')!;
    const wd = f.context.find((c) => c.arm === 'ift-full-wd')!;
    expect(wd.direction).toBe('paper'); // 2.55 < 2.6: it forgot less
    expect(wd.readings?.paper).toBe('forgot less than plain full');
  });
});
