import { describe, expect, it } from 'vitest';
import { uniformMatrix } from '../test/matrix-generators.js';
import { ConfigError } from './errors.js';
import { type Matrix64, matmul, transpose } from './matrix.js';
import { qr } from './qr.js';
import { randomizedSvd } from './randomized-svd.js';
import { svd } from './svd.js';

/** A = U diag(σ) Vᵀ with random orthonormal U (m × n), V (n × n) and the given σ. */
function withSpectrum(m: number, n: number, sigma: (i: number) => number): Matrix64 {
  const u = qr(uniformMatrix(m, n, 21)).q;
  const v = qr(uniformMatrix(n, n, 22)).q;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) u.data[i * n + j]! *= sigma(j);
  return matmul(u, transpose(v));
}

describe('randomizedSvd', () => {
  it('recovers the top singular values of a decaying spectrum with a valid error estimate', () => {
    const a = withSpectrum(120, 90, (i) => 0.8 ** i);
    const exact = svd(a).s;
    const r = randomizedSvd(a, { k: 8, seed: 1 });
    for (let i = 0; i < 8; i++) {
      expect(Math.abs(r.s[i]! - exact[i]!) / exact[i]!).toBeLessThan(1e-8);
      expect(r.s[i]!).toBeLessThanOrEqual(exact[i]! * (1 + 1e-12));
      expect(exact[i]!).toBeLessThanOrEqual(r.sUpper[i]! * (1 + 1e-12));
      expect(r.residuals![i]!).toBeLessThan(1e-4);
      expect(Math.abs(r.s[i]! - exact[i]!)).toBeLessThanOrEqual(r.residuals![i]!);
    }
    // the estimate bounds the true ‖A − QQᵀA‖_2 ≥ σ_{l+1} = 0.8^18 and is within its known factor of it
    // ‖(I − QQᵀ)A ω‖ is about the Frobenius norm of the tail σ_{l+1}, σ_{l+2}, … (l = 18)
    let tail = 0;
    for (let i = 18; i < exact.length; i++) tail += exact[i]! ** 2;
    expect(r.errorEstimate).toBeGreaterThanOrEqual(exact[18]!);
    expect(r.errorEstimate).toBeLessThan(3 * 10 * Math.sqrt(2 / Math.PI) * Math.sqrt(tail));
  });

  it('has an error estimate at least the true tail σ_{l+1} on a flat spectrum, and rejects bad k', () => {
    const a = uniformMatrix(80, 60, 3);
    const exact = svd(a).s;
    const r = randomizedSvd(a, { k: 5, oversample: 5, powerIterations: 1, seed: 2 });
    expect(r.errorEstimate).toBeGreaterThanOrEqual(exact[10]!);
    for (let i = 0; i < 5; i++) {
      expect(r.s[i]!).toBeLessThanOrEqual(exact[i]! * (1 + 1e-12));
      expect(exact[i]!).toBeLessThanOrEqual(r.sUpper[i]!);
    }
    expect(() => randomizedSvd(a, { k: 0 })).toThrow(ConfigError);
    expect(() => randomizedSvd(a, { k: 61 })).toThrow(ConfigError);
  });
});
