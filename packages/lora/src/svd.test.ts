import { describe, expect, it } from 'vitest';
import { seededRandn } from './pissa.js';
import { matmul, orthonormalize, svdLowrank, thinSvd, transpose } from './svd.js';

function randomMatrix(m: number, n: number, seed: number): Float64Array {
  const randn = seededRandn(seed);
  return Float64Array.from({ length: m * n }, randn);
}

function reconstruct(U: Float64Array, S: Float64Array, Vt: Float64Array, m: number, k: number, n: number) {
  const us = Float64Array.from(U, (v, i) => v * S[i % k]!);
  return matmul(us, Vt, m, k, n);
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  return a.reduce((mx, v, i) => Math.max(mx, Math.abs(v - b[i]!)), 0);
}

describe('thinSvd (one-sided Jacobi)', () => {
  for (const [m, n] of [
    [7, 5],
    [4, 9],
    [6, 6],
  ] as const) {
    it(`reconstructs a ${m}x${n} matrix with orthonormal factors and descending values to 1e-12`, () => {
      const a = randomMatrix(m, n, m * 31 + n);
      const { U, S, Vt, k } = thinSvd(a, m, n);
      expect(k).toBe(Math.min(m, n));
      expect(maxAbsDiff(reconstruct(U, S, Vt, m, k, n), a)).toBeLessThan(1e-12);
      const eye = (d: number) => Float64Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? 1 : 0));
      expect(maxAbsDiff(matmul(transpose(U, m, k), U, k, m, k), eye(k))).toBeLessThan(1e-12);
      expect(maxAbsDiff(matmul(Vt, transpose(Vt, k, n), k, n, k), eye(k))).toBeLessThan(1e-12);
      for (let i = 1; i < k; i++) expect(S[i]!).toBeLessThanOrEqual(S[i - 1]!);
    });
  }

  it('gives rank-deficient matrices zero trailing singular values', () => {
    const u = randomMatrix(6, 2, 1);
    const v = randomMatrix(2, 5, 2);
    const { S } = thinSvd(matmul(u, v, 6, 2, 5), 6, 5);
    expect(S[1]!).toBeGreaterThan(1e-3);
    for (let i = 2; i < 5; i++) expect(S[i]!).toBeLessThan(1e-12 * S[0]!);
  });
});

describe('svdLowrank (randomized, as torch.svd_lowrank)', () => {
  it('recovers the top triplets of an exactly rank-q matrix', () => {
    const m = 30;
    const n = 20;
    const q = 3;
    const a = matmul(randomMatrix(m, q, 3), randomMatrix(q, n, 4), m, q, n);
    const exact = thinSvd(a, m, n);
    const approx = svdLowrank(a, m, n, q, 2, seededRandn(5));
    for (let i = 0; i < q; i++) expect(Math.abs(approx.S[i]! - exact.S[i]!)).toBeLessThan(1e-9 * exact.S[0]!);
    expect(maxAbsDiff(reconstruct(approx.U, approx.S, approx.Vt, m, approx.k, n), a)).toBeLessThan(1e-9);
  });

  it('orthonormalize returns orthonormal columns', () => {
    const q = orthonormalize(randomMatrix(10, 4, 6), 10, 4);
    const g = matmul(transpose(q, 10, 4), q, 4, 10, 4);
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 4; j++) expect(Math.abs(g[i * 4 + j]! - (i === j ? 1 : 0))).toBeLessThan(1e-12);
  });
});
