import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { frobeniusNorm } from './matrix.js';
import { gaussianLike, gaussianMatrix, perturbWithNoise } from './random-baselines.js';
import {
  effectiveRank,
  explainedVariance,
  rankAtEnergy,
  rankAtSigma,
  spectrumMetrics,
  stableRank,
} from './spectrum-metrics.js';
import { singularValues } from './svd.js';

describe('spectrum metrics (closed forms)', () => {
  it('computes every metric of s = [3, 2, 1]', () => {
    const m = spectrumMetrics([3, 2, 1], 4, 3, 0.9);
    // energies 9, 4, 1 of 14: 0.643, 0.929 → rank 2; sums 3, 5, 6 of 6: 0.5, 0.833, 1 → rank 3
    expect(m.rank_energy).toBe(2);
    expect(m.rank_sigma).toBe(3);
    expect(m.spectral_norm).toBe(3);
    expect(m.frobenius_norm).toBeCloseTo(Math.sqrt(14), 15);
    expect(m.nuclear_norm).toBe(6);
    expect(m.stable_rank).toBeCloseTo(14 / 9, 15);
    const p = [3 / 6, 2 / 6, 1 / 6];
    expect(m.effective_rank).toBeCloseTo(Math.exp(-p.reduce((h, x) => h + x * Math.log(x), 0)), 14);
    expect(m.numerical_rank).toBe(3);
  });

  it('gives n for a flat spectrum and ceil(τ n) for rank@τ', () => {
    const s = new Float64Array(50).fill(2);
    expect(effectiveRank(s)).toBeCloseTo(50, 12);
    expect(stableRank(s)).toBeCloseTo(50, 12);
    expect(rankAtEnergy(s, 0.9)).toBe(45);
    expect(rankAtSigma(s, 0.9)).toBe(45);
    expect(rankAtEnergy(s, 1)).toBe(50);
    expect(explainedVariance(s)[9]).toBeCloseTo(0.2, 15);
  });

  it('handles the zero matrix and rejects a bad τ', () => {
    const m = spectrumMetrics([0, 0], 2, 2);
    expect([m.rank_energy, m.rank_sigma, m.effective_rank, m.stable_rank, m.numerical_rank]).toEqual([
      0, 0, 0, 0, 0,
    ]);
    expect(() => rankAtEnergy([1], 0)).toThrow(ConfigError);
    expect(() => rankAtSigma([1], 1.5)).toThrow(ConfigError);
  });

  it('rank@1 of a rank-1 spectrum is 1 and energy rank never exceeds σ rank', () => {
    expect(rankAtEnergy([5, 0, 0], 0.99)).toBe(1);
    const s = [10, 6, 5, 3, 2, 1, 0.5];
    for (const tau of [0.5, 0.8, 0.9, 0.99])
      expect(rankAtEnergy(s, tau)).toBeLessThanOrEqual(rankAtSigma(s, tau));
  });
});

describe('random baselines', () => {
  it('matches the Marchenko–Pastur quarter-circle law for a square Gaussian matrix', () => {
    // n × n with N(0, 1/n) entries: singular values have density f(x) = sqrt(4 − x²)/π on [0, 2].
    // rank@τ(energy)/n → ∫_t^2 f, where ∫_t^2 x² f(x) dx = τ (the second moment is 1).
    const n = 240;
    const g = gaussianMatrix(n, n, 7);
    const s = singularValues(g);
    const f = (x: number) => Math.sqrt(Math.max(0, 4 - x * x)) / Math.PI;
    const steps = 20000;
    const h = 2 / steps;
    let energy = 0;
    let mass = 0;
    let predicted = n;
    for (let i = steps - 1; i >= 0; i--) {
      const x = (i + 0.5) * h;
      energy += x * x * f(x) * h;
      mass += f(x) * h;
      if (energy >= 0.9) {
        predicted = mass * n;
        break;
      }
    }
    const r = rankAtEnergy(s, 0.9);
    expect(Math.abs(r - predicted) / predicted).toBeLessThan(0.03);
    // stable rank → n/4 (‖G‖_F² ≈ n², σ_1 ≈ 2 sqrt(n))
    expect(Math.abs(stableRank(s) - n / 4) / (n / 4)).toBeLessThan(0.1);
  });

  it('scales the Gaussian baseline to the requested Frobenius norm and the noise to c‖W‖_F', () => {
    const g = gaussianLike(30, 20, 7.5, 1);
    expect(frobeniusNorm(g)).toBeCloseTo(7.5, 12);
    const w = gaussianMatrix(30, 20, 2);
    const p = perturbWithNoise(w, 0.1, 3);
    const diff = { rows: 30, cols: 20, data: p.data.map((x, i) => x - w.data[i]!) };
    expect(frobeniusNorm(diff) / frobeniusNorm(w)).toBeCloseTo(0.1, 12);
    // deterministic for a seed, different across seeds
    expect(gaussianMatrix(3, 3, 5).data).toEqual(gaussianMatrix(3, 3, 5).data);
    expect(gaussianMatrix(3, 3, 5).data).not.toEqual(gaussianMatrix(3, 3, 6).data);
  });

  it('draws standard normals (mean 0, variance 1)', () => {
    const x = gaussianMatrix(1, 100000, 11).data;
    let mean = 0;
    for (const v of x) mean += v;
    mean /= x.length;
    let variance = 0;
    for (const v of x) variance += (v - mean) ** 2;
    variance /= x.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.015);
  });
});
