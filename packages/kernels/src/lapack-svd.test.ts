// LAPACK dgesdd through the addon against matrices with known singular values: A = H_L[:, :k] diag(σ) H_R[:k, :]
// with Householder reflectors H = I − 2vvᵀ/vᵀv (orthogonal), so σ is exact up to the rounding of forming A.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ADDON_PATH } from './addon.js';
import { ShapeError } from './errors.js';
import { createLapackSvd, type DenseMatrix } from './lapack-svd.js';

const BUILT = existsSync(ADDON_PATH) && (process.env.LORALAB_KERNELS ?? '').toLowerCase() !== 'off';
if (!BUILT) console.warn('kernels tests: LAPACK SVD tests skipped: the addon is not built');

/** Deterministic uniform(-1, 1) (mulberry32). */
function uniforms(n: number, seed: number): Float64Array {
  let a = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** Householder reflector I − 2vvᵀ/vᵀv (d × d, row-major). */
function reflector(d: number, seed: number): Float64Array {
  const v = uniforms(d, seed);
  let vv = 0;
  for (const x of v) vv += x * x;
  const h = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) h[i * d + j] = (i === j ? 1 : 0) - (2 * v[i]! * v[j]!) / vv;
  return h;
}

/** rows × cols with singular values σ_i = 10^(−6i/(k−1)) (1 down to 1e-6), descending. */
function knownSpectrum(rows: number, cols: number, seed: number): { a: DenseMatrix; sigma: Float64Array } {
  const k = Math.min(rows, cols);
  const sigma = Float64Array.from({ length: k }, (_, i) => 10 ** ((-6 * i) / Math.max(k - 1, 1)));
  const hl = reflector(rows, seed);
  const hr = reflector(cols, seed + 1);
  const a = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += hl[i * rows + p]! * sigma[p]! * hr[p * cols + j]!;
      a[i * cols + j] = sum;
    }
  }
  return { a: { rows, cols, data: a }, sigma };
}

function maxError(s: Float64Array, sigma: Float64Array): number {
  let e = 0;
  for (let i = 0; i < sigma.length; i++) e = Math.max(e, Math.abs(s[i]! - sigma[i]!));
  return e;
}

const EPS = Number.EPSILON;

describe.skipIf(!BUILT)('createLapackSvd (dgesdd)', () => {
  const lapack = createLapackSvd({ concurrency: 2, blasThreads: 1 })!;

  it('is available where the addon is built, and says which OpenBLAS kernels run', async () => {
    expect(lapack).not.toBeNull();
    expect(lapack.name).toBe('lapack');
    expect(lapack.report.available).toBe(true);
    expect(lapack.report.corename).toBeTruthy();
    // the weak dgesdd_ reference resolved to the linked OpenBLAS's LAPACK
    const { loadAddon } = await import('./addon.js');
    const { resolveKernelsConfig } = await import('./config.js');
    expect(loadAddon(resolveKernelsConfig({ notice: false })).addon!.hasLapack()).toBe(true);
  });

  for (const [rows, cols] of [
    [60, 40],
    [40, 60],
    [50, 50],
  ] as const) {
    it(`values of a ${rows} × ${cols} matrix with a known spectrum (backward stable: ≤ 64·max(m, n)·ε·σ₁)`, async () => {
      const { a, sigma } = knownSpectrum(rows, cols, rows * 100 + cols);
      const r = await lapack.svd(a);
      expect(r.s.length).toBe(sigma.length);
      expect(r.u).toBeUndefined();
      expect(maxError(r.s, sigma)).toBeLessThanOrEqual(64 * Math.max(rows, cols) * EPS);
    });

    it(`vectors of a ${rows} × ${cols} matrix: U diag(s) Vᵀ = A, UᵀU = VᵀV = I`, async () => {
      const { a } = knownSpectrum(rows, cols, rows * 7 + cols);
      const r = await lapack.svd(a, { vectors: true });
      const k = Math.min(rows, cols);
      const u = r.u!;
      const vt = r.vt!;
      expect([u.rows, u.cols, vt.rows, vt.cols]).toEqual([rows, k, k, cols]);
      let recon = 0;
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          let sum = 0;
          for (let p = 0; p < k; p++) sum += u.data[i * k + p]! * r.s[p]! * vt.data[p * cols + j]!;
          recon = Math.max(recon, Math.abs(sum - a.data[i * cols + j]!));
        }
      }
      expect(recon).toBeLessThan(1e-13);
      let orth = 0;
      for (let p = 0; p < k; p++) {
        for (let q = 0; q < k; q++) {
          let uu = 0;
          let vv = 0;
          for (let i = 0; i < rows; i++) uu += u.data[i * k + p]! * u.data[i * k + q]!;
          for (let j = 0; j < cols; j++) vv += vt.data[p * cols + j]! * vt.data[q * cols + j]!;
          const id = p === q ? 1 : 0;
          orth = Math.max(orth, Math.abs(uu - id), Math.abs(vv - id));
        }
      }
      expect(orth).toBeLessThan(1e-13);
      // 'left' returns the same U without Vᵀ
      const left = await lapack.svd(a, { vectors: 'left' });
      expect(left.vt).toBeUndefined();
      expect(left.u!.data).toEqual(u.data);
    });
  }

  it('takes Float32 input (widened to Float64) and leaves the input untouched', async () => {
    const { a, sigma } = knownSpectrum(30, 20, 5);
    const f32 = Float32Array.from(a.data);
    const copy = f32.slice();
    const r = await lapack.svd({ rows: 30, cols: 20, data: f32 });
    // A rounded to float32 moves each value by at most ‖δA‖₂ ≤ ‖δA‖_F ≈ 2⁻²⁴·‖A‖_F
    expect(maxError(r.s, sigma)).toBeLessThan(1e-6);
    expect(f32).toEqual(copy);
  });

  it('runs several SVDs at once with the same results as one at a time', async () => {
    const mats = [0, 1, 2, 3, 4].map((i) => knownSpectrum(70 + i, 64, 40 + i).a);
    const one = [];
    for (const m of mats) one.push((await lapack.svd(m)).s);
    const all = await Promise.all(mats.map((m) => lapack.svd(m)));
    for (let i = 0; i < mats.length; i++) expect(all[i]!.s).toEqual(one[i]);
  });

  it('rejects a non-finite entry, naming its row and column, and a data length that does not match', async () => {
    const data = new Float64Array(12);
    data[7] = Number.NaN; // row 1, column 3 of a 3 × 4 matrix
    await expect(lapack.svd({ rows: 3, cols: 4, data })).rejects.toThrow(
      /non-finite entry nan at row 1, column 3/,
    );
    expect(() => lapack.svd({ rows: 3, cols: 5, data })).toThrow(ShapeError);
    const empty = await lapack.svd({ rows: 0, cols: 4, data: new Float64Array(0) }, { vectors: true });
    expect(empty.s.length).toBe(0);
  });

  it('sets OpenBLAS threads while open and restores them on close; a closed provider rejects', async () => {
    const { loadAddon } = await import('./addon.js');
    const { resolveKernelsConfig } = await import('./config.js');
    const addon = loadAddon(resolveKernelsConfig({ notice: false })).addon!;
    const before = addon.info().blasThreads;
    const p = createLapackSvd({ concurrency: 1, blasThreads: 3 })!;
    expect(addon.info().blasThreads).toBe(3);
    await p.close();
    expect(addon.info().blasThreads).toBe(before);
    await expect(p.svd({ rows: 1, cols: 1, data: new Float64Array(1) })).rejects.toThrow(/closed/);
  });

  it('is null with LORALAB_KERNELS mode off (the caller keeps its own SVD)', () => {
    expect(createLapackSvd({ config: { mode: 'off' } })).toBeNull();
  });
});
