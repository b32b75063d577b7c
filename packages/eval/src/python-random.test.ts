import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PythonRandom } from './python-random.js';

// Golden values: tools/reference/eval-python-random.py (CPython's random module); exact.
const golden = JSON.parse(
  readFileSync(new URL('../test/fixtures/python-random-golden.json', import.meta.url), 'utf8'),
) as {
  getrandbits32: Record<string, number[]>;
  samples: { seed: number; n: number; k: number; draws: number[][] }[];
  gsm8k_fewshot: number[][];
};

describe('PythonRandom', () => {
  it("reproduces CPython's MT19937 stream for int seeds (past one 624-word refill)", () => {
    for (const [seed, values] of Object.entries(golden.getrandbits32)) {
      const r = new PythonRandom(BigInt(seed));
      expect(
        values.map(() => r.getrandbits(32)),
        `seed ${seed}`,
      ).toEqual(values);
    }
  });

  it('reproduces random.sample, by both the pool and the set method', () => {
    for (const { seed, n, k, draws } of golden.samples) {
      const r = new PythonRandom(seed);
      const population = Array.from({ length: n }, (_, i) => i);
      expect(
        draws.map(() => r.sample(population, k)),
        `seed ${seed} n ${n} k ${k}`,
      ).toEqual(draws);
    }
  });

  it("reproduces lm-evaluation-harness's gsm8k few-shot draws (seed 1234, 7473 train docs)", () => {
    const r = new PythonRandom(1234);
    const train = Array.from({ length: 7473 }, (_, i) => i);
    expect(golden.gsm8k_fewshot.map(() => r.sample(train, 5))).toEqual(golden.gsm8k_fewshot);
  });

  it('rejects a sample larger than the population', () => {
    expect(() => new PythonRandom(1).sample([1, 2], 3)).toThrow(RangeError);
  });
});
