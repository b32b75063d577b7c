// Schedules against their closed forms (Hugging Face transformers.optimization, written out here independently).
import { describe, expect, it } from 'vitest';
import { SCHEDULE_DEFAULTS, type ScheduleConfig } from './config.js';
import { resolveSchedule, scheduleFactor } from './schedule.js';

const N = 100;
const factors = (s: ScheduleConfig, total = N) => {
  const r = resolveSchedule({ ...SCHEDULE_DEFAULTS, ...s } as Required<ScheduleConfig>, total);
  return Array.from({ length: total }, (_, i) => scheduleFactor(r, i));
};

describe('schedules', () => {
  it('cosine: linear warmup from 0, then half a cosine to the floor', () => {
    const f = factors({ name: 'cosine', warmupSteps: 10, minLrRatio: 0.1 });
    for (let s = 0; s < 10; s++) expect(f[s]).toBeCloseTo(s / 10, 12);
    for (let s = 10; s < N; s++) {
      const p = (s - 10) / 90;
      expect(f[s]).toBeCloseTo(0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * p)), 12);
    }
    expect(f[10]).toBe(1);
    expect(f[55]).toBeCloseTo(0.55, 12); // halfway: (1 + floor) / 2
  });

  it('warmupRatio r gives ⌈r·N⌉ warmup steps', () => {
    expect(resolveSchedule({ ...SCHEDULE_DEFAULTS, name: 'cosine', warmupRatio: 0.1 }, 95).warmup).toBe(10);
    const f = factors({ name: 'cosine', warmupRatio: 0.1 });
    expect(f[5]).toBeCloseTo(0.5, 12);
    expect(f[10]).toBe(1);
  });

  it('linear: warmup, then a straight line to the floor at step N', () => {
    const f = factors({ name: 'linear', warmupSteps: 20 });
    for (let s = 20; s < N; s++) expect(f[s]).toBeCloseTo((N - s) / 80, 12);
    const g = factors({ name: 'linear', minLrRatio: 0.2 });
    for (let s = 0; s < N; s++) expect(g[s]).toBeCloseTo(0.2 + 0.8 * ((N - s) / N), 12);
  });

  it('constant: warmup, then 1; with a cooldown, linear to the floor over the last C steps', () => {
    expect(factors({ name: 'constant' })).toEqual(new Array(N).fill(1));
    const f = factors({ name: 'constant', warmupSteps: 5, cooldownSteps: 20 });
    for (let s = 5; s < 80; s++) expect(f[s]).toBe(1);
    for (let s = 80; s < N; s++) expect(f[s]).toBeCloseTo((N - s) / 20, 12);
  });

  it('inverse-sqrt: 1/√((s + τ − W)/τ) after warmup, then a cooldown from its value at N − C', () => {
    const f = factors({ name: 'inverse-sqrt', warmupSteps: 10, cooldownRatio: 0.2 });
    for (let s = 0; s < 10; s++) expect(f[s]).toBeCloseTo(s / 10, 12);
    for (let s = 10; s < 80; s++) expect(f[s]).toBeCloseTo(Math.sqrt(10 / s), 12); // τ = W: 1/√(s/W)
    const top = Math.sqrt(10 / 80);
    for (let s = 80; s < N; s++) expect(f[s]).toBeCloseTo(top * ((N - s) / 20), 12);
    // explicit timescale, no warmup: 1/√((s + τ)/τ)
    const g = factors({ name: 'inverse-sqrt', timescale: 50 });
    for (let s = 0; s < N; s++) expect(g[s]).toBeCloseTo(1 / Math.sqrt((s + 50) / 50), 12);
  });

  it('is monotone where it should be', () => {
    const f = factors({ name: 'cosine', warmupSteps: 10 });
    for (let s = 11; s < N; s++) expect(f[s]!).toBeLessThanOrEqual(f[s - 1]!);
    for (let s = 1; s <= 10; s++) expect(f[s]!).toBeGreaterThan(f[s - 1]!);
  });
});
