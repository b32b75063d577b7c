import { describe, expect, it } from 'vitest';
import { uniformMatrix } from '../test/matrix-generators.js';
import { ConfigError, ShapeError } from './errors.js';
import { intruderDimensions } from './intruder-dimensions.js';
import { identity, type Matrix64 } from './matrix.js';
import { subspaceSimilarity, subspaceSimilarityGrid } from './subspace-similarity.js';
import { svd } from './svd.js';

/** d × 2 matrix whose columns are e_0 and cos θ e_1 + sin θ e_2. */
function rotatedPair(d: number, theta: number): Matrix64 {
  const m = { rows: d, cols: 2, data: new Float64Array(d * 2) };
  m.data[0] = 1;
  m.data[1 * 2 + 1] = Math.cos(theta);
  m.data[2 * 2 + 1] = Math.sin(theta);
  return m;
}

describe('subspace similarity (Hu et al. eq. 4)', () => {
  it('is 1 for the same subspace and cos²θ-weighted for rotated ones', () => {
    const e = identity(5);
    const grid = subspaceSimilarityGrid(e, e, 5, 5);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) expect(grid[i * 5 + j]).toBeCloseTo(1, 15);
    const theta = 0.4;
    const b = rotatedPair(5, theta);
    // U_A = [e0 e1]: ‖U_Aᵀ U_B‖_F² = 1 + cos²θ, over min(2, 2)
    expect(subspaceSimilarity(e, b, 2, 2)).toBeCloseTo((1 + Math.cos(theta) ** 2) / 2, 15);
    expect(subspaceSimilarity(e, b, 1, 1)).toBeCloseTo(1, 15);
    expect(subspaceSimilarity(e, b, 1, 2)).toBeCloseTo(1, 15);
    // U_A = [e0 e1 e2] contains both: φ(3, 2) = 2/2
    expect(subspaceSimilarity(e, b, 3, 2)).toBeCloseTo(1, 15);
  });

  it('is near j/d for unrelated random subspaces and rejects bad sizes', () => {
    const d = 60;
    const ua = svd(uniformMatrix(d, d, 1), { vectors: true }).u!;
    const ub = svd(uniformMatrix(d, d, 2), { vectors: true }).u!;
    // E‖U_Aⁱᵀ U_Bʲ‖_F² = i j / d for random subspaces; φ(i, i) ≈ i / d
    expect(subspaceSimilarity(ua, ub, d, d)).toBeCloseTo(1, 12);
    expect(subspaceSimilarity(ua, ub, 6, 6)).toBeLessThan(0.35);
    expect(() => subspaceSimilarityGrid(ua, ub, d + 1, 1)).toThrow(ShapeError);
  });
});

describe('intruder dimensions (Shuttleworth et al.)', () => {
  it('flags a vector far from every base vector and keeps one close to some', () => {
    const d = 9;
    const base = identity(d);
    const ft = { rows: d, cols: 2, data: new Float64Array(d * 2) };
    ft.data[0] = Math.SQRT1_2; // (e0 + e1)/√2: max |cos| = 0.707 → not an intruder
    ft.data[2] = Math.SQRT1_2;
    for (let r = 0; r < d; r++) ft.data[r * 2 + 1] = 1 / 3; // (1, …, 1)/3: max |cos| = 1/3 → intruder
    const rep = intruderDimensions(base, ft, 10, 0.5);
    expect(rep.k).toBe(2);
    expect(rep.count).toBe(1);
    expect(rep.candidates[0]!.max_cosine).toBeCloseTo(Math.SQRT1_2, 15);
    expect(rep.candidates[0]!.intruder).toBe(false);
    expect(rep.candidates[1]!.max_cosine).toBeCloseTo(1 / 3, 15);
    expect(rep.candidates[1]!.intruder).toBe(true);
    expect(() => intruderDimensions(base, ft, 10, 0)).toThrow(ConfigError);
  });

  it('finds the intruder created by adding a strong rank-1 spike in a new direction', () => {
    const n = 40;
    const w = uniformMatrix(n, n, 5);
    const base = svd(w, { vectors: true }).u!;
    // ΔW = 20 · x yᵀ with x = (1, −1, 1, …)/√n: far from every singular vector of W
    const ft = { rows: n, cols: n, data: w.data.slice() };
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) ft.data[i * n + j]! += (20 * (i % 2 ? -1 : 1) * (j % 3 ? 1 : -1)) / n;
    const rep = intruderDimensions(base, svd(ft, { vectors: true }).u!, 10, 0.5);
    expect(rep.candidates[0]!.intruder).toBe(true);
    const self = intruderDimensions(base, base, 10, 0.5);
    expect(self.count).toBe(0);
    expect(self.candidates.every((c) => Math.abs(c.max_cosine - 1) < 1e-12)).toBe(true);
  });
});
