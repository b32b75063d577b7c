import { describe, expect, it } from 'vitest';
import { generate, loadGolden, uniformMatrix } from '../test/matrix-generators.js';
import { DataError } from './errors.js';
import { type Matrix, type Matrix64, matmul, matmulTransA } from './matrix.js';
import { singularValues, svd } from './svd.js';

const cases = loadGolden();

/**
 * The tolerance of tools/reference/rank-svd.py: 1e-5 relative for every value above 1e-13·s_1 (in the ill-conditioned
 * cases that reaches values of 1e-10·s_1), and LAPACK's own backward error bound for the (numerically) zero values
 * of the rank-deficient cases.
 */
function expectValuesClose(s: Float64Array, ref: number[], m: number, n: number): void {
  expect(s.length).toBe(ref.length);
  const s1 = ref[0] ?? 0;
  for (let i = 0; i < ref.length; i++) {
    const tol = ref[i]! > 1e-13 * s1 ? 1e-5 * ref[i]! : 64 * Math.max(m, n) * Number.EPSILON * s1;
    if (!(Math.abs(s[i]! - ref[i]!) <= tol)) {
      throw new Error(`s[${i}] = ${s[i]} differs from LAPACK's ${ref[i]} by more than ${tol}`);
    }
  }
}

function maxAbsDiff(a: Matrix, b: Matrix): number {
  let d = 0;
  for (let i = 0; i < a.data.length; i++) d = Math.max(d, Math.abs(a.data[i]! - b.data[i]!));
  return d;
}

function reconstruct(u: Matrix64, s: Float64Array, vt: Matrix64): Matrix64 {
  const us = { rows: u.rows, cols: u.cols, data: u.data.slice() };
  for (let i = 0; i < u.rows; i++) for (let j = 0; j < u.cols; j++) us.data[i * u.cols + j]! *= s[j]!;
  return matmul(us, vt);
}

function orthogonalityError(q: Matrix64, columns: boolean): number {
  // columns: QᵀQ = I; rows: Q Qᵀ = I (checked as (Qᵀ)ᵀ Qᵀ with the row matrix read as Qᵀ)
  const g = columns ? matmulTransA(q, q) : matmul(q, { rows: q.cols, cols: q.rows, data: transposeData(q) });
  let err = 0;
  for (let i = 0; i < g.rows; i++)
    for (let j = 0; j < g.cols; j++)
      err = Math.max(err, Math.abs(g.data[i * g.cols + j]! - (i === j ? 1 : 0)));
  return err;
}

function transposeData(q: Matrix64): Float64Array {
  const out = new Float64Array(q.data.length);
  for (let i = 0; i < q.rows; i++)
    for (let j = 0; j < q.cols; j++) out[j * q.rows + i] = q.data[i * q.cols + j]!;
  return out;
}

describe('svd against LAPACK golden values (tools/reference/rank-svd.py)', () => {
  for (const c of cases) {
    it(`${c.name} (${c.rows} × ${c.cols})`, () => {
      const a = generate(c);
      let sum = 0;
      for (const x of a.data) sum += x;
      expect(sum).toBe(c.checksum); // the generator reproduced the reference matrix
      expect(Array.from(a.data.slice(0, 3))).toEqual(c.first);
      expectValuesClose(singularValues(a), c.s, c.rows, c.cols);

      const { s, u, vt } = svd(a, { vectors: true });
      expectValuesClose(s, c.s, c.rows, c.cols);
      const k = Math.min(c.rows, c.cols);
      expect([u!.rows, u!.cols, vt!.rows, vt!.cols]).toEqual([c.rows, k, k, c.cols]);
      const scale = c.s[0]!;
      expect(maxAbsDiff(reconstruct(u!, s, vt!), a)).toBeLessThan(
        1e-13 * Math.max(scale, 1) * Math.max(c.rows, c.cols),
      );
      expect(orthogonalityError(u!, true)).toBeLessThan(1e-12 * k);
      expect(orthogonalityError(vt!, false)).toBeLessThan(1e-12 * k);
      if (c.u && c.vt) {
        // Same vectors as LAPACK up to sign: |<u_i, u_i_ref>| = 1 (the values are well separated here).
        for (let i = 0; i < k; i++) {
          let du = 0;
          let dv = 0;
          for (let r = 0; r < c.rows; r++) du += u!.data[r * k + i]! * c.u[i]![r]!;
          for (let r = 0; r < c.cols; r++) dv += vt!.data[i * c.cols + r]! * c.vt[i]![r]!;
          expect(Math.abs(du)).toBeCloseTo(1, 10);
          expect(Math.abs(dv)).toBeCloseTo(1, 10);
          expect(Math.sign(du)).toBe(Math.sign(dv)); // a sign flip must hit u and v together
        }
      }
    });
  }

  it('gives the same values with the TypeScript and the WebAssembly SIMD sweeps', () => {
    for (const c of cases) {
      const a = generate(c);
      expectValuesClose(svd(a, { kernel: 'js' }).s, c.s, c.rows, c.cols);
      expectValuesClose(svd(a, { kernel: 'wasm' }).s, c.s, c.rows, c.cols);
      const v = svd(a, { kernel: 'wasm', vectors: true });
      expect(maxAbsDiff(reconstruct(v.u!, v.s, v.vt!), a)).toBeLessThan(
        1e-13 * Math.max(c.s[0]!, 1) * Math.max(c.rows, c.cols),
      );
    }
  });

  it("computes only U with vectors: 'left', equal to the full computation", () => {
    for (const c of cases) {
      const a = generate(c);
      const full = svd(a, { vectors: true });
      const left = svd(a, { vectors: 'left' });
      expect(left.vt).toBeUndefined();
      expect(left.s).toEqual(full.s);
      expect(left.u).toEqual(full.u);
    }
  });

  it('gives the same values with a helper thread splitting the sweeps (threads: 2)', () => {
    const a = uniformMatrix(300, 260, 17); // above PARALLEL_MIN_ENTRIES
    const one = svd(a).s;
    const two = svd(a, { threads: 2 }).s;
    for (let i = 0; i < one.length; i++) expect(Math.abs(two[i]! - one[i]!)).toBeLessThan(1e-13 * one[0]!);
    const v = svd(a, { threads: 2, vectors: true });
    expect(maxAbsDiff(reconstruct(v.u!, v.s, v.vt!), a)).toBeLessThan(1e-12 * one[0]!);
  });

  it('accepts Float32Array storage', () => {
    const c = cases.find((x) => x.kind === 'float32')!;
    const a = generate(c);
    const s = singularValues({ rows: a.rows, cols: a.cols, data: Float32Array.from(a.data) });
    expectValuesClose(s, c.s, c.rows, c.cols);
  });
});

describe('svd edge cases', () => {
  it('handles empty, zero and diagonal matrices', () => {
    expect(svd({ rows: 0, cols: 3, data: new Float64Array(0) }).s.length).toBe(0);
    const z = svd({ rows: 3, cols: 2, data: new Float64Array(6) }, { vectors: true });
    expect(Array.from(z.s)).toEqual([0, 0]);
    const d = svd({ rows: 3, cols: 3, data: Float64Array.from([0, 0, 0, 0, -5, 0, 0, 0, 2]) });
    expect(Array.from(d.s)).toEqual([5, 2, 0]);
  });

  it('gives repeated singular values of an orthogonal matrix', () => {
    const c = Math.cos(0.3);
    const s = Math.sin(0.3);
    const q = { rows: 2, cols: 2, data: Float64Array.from([c, -s, s, c]) };
    const r = svd(q, { vectors: true });
    expect(r.s[0]).toBeCloseTo(1, 15);
    expect(r.s[1]).toBeCloseTo(1, 15);
  });

  it('rejects non-finite entries and bad shapes', () => {
    expect(() => svd({ rows: 2, cols: 2, data: Float64Array.from([1, Number.NaN, 0, 1]) })).toThrow(
      DataError,
    );
    expect(() => svd({ rows: 2, cols: 2, data: new Float64Array(3) })).toThrow(/data length/);
  });

  it('matches the sum of squares identity Σ s_i² = ‖A‖_F² on a 200 × 170 matrix', () => {
    const a = uniformMatrix(200, 170, 99);
    const s = singularValues(a);
    let ss = 0;
    for (const x of s) ss += x * x;
    let ff = 0;
    for (const x of a.data) ff += x * x;
    expect(Math.abs(ss - ff) / ff).toBeLessThan(1e-13);
  });
});
