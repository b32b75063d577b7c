// Dense row-major matrices over typed arrays, and the few level-3 products the package needs.
import { ShapeError } from './errors.js';

/** A dense row-major matrix: element (i, j) is `data[i * cols + j]`. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array | Float64Array;
}

/** A row-major matrix stored in Float64 (what every routine here returns). */
export interface Matrix64 extends Matrix {
  data: Float64Array;
}

/** Checks that `data` holds exactly `rows * cols` finite-or-not numbers; `what` names the matrix in errors. */
export function checkMatrix(a: Matrix, what = 'matrix'): void {
  if (!Number.isInteger(a.rows) || !Number.isInteger(a.cols) || a.rows < 0 || a.cols < 0) {
    throw new ShapeError(
      `${what} has an invalid shape`,
      'non-negative integer rows and cols',
      `[${a.rows}, ${a.cols}]`,
    );
  }
  if (a.data.length !== a.rows * a.cols) {
    throw new ShapeError(
      `${what} data length does not match its shape`,
      `${a.rows * a.cols}`,
      `${a.data.length}`,
    );
  }
}

export function zeros(rows: number, cols: number): Matrix64 {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

export function identity(n: number): Matrix64 {
  const m = zeros(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
}

/** A Float64 copy of `a`. */
export function toFloat64(a: Matrix): Matrix64 {
  checkMatrix(a);
  return { rows: a.rows, cols: a.cols, data: Float64Array.from(a.data) };
}

/** From nested arrays (row by row). */
export function fromRows(rows: ArrayLike<number>[]): Matrix64 {
  const r = rows.length;
  const c = r === 0 ? 0 : rows[0]!.length;
  const m = zeros(r, c);
  rows.forEach((row, i) => {
    if (row.length !== c) throw new ShapeError(`row ${i} has a different length`, `${c}`, `${row.length}`);
    for (let j = 0; j < c; j++) m.data[i * c + j] = row[j]!;
  });
  return m;
}

/** Aᵀ, transposed in 32 × 32 tiles so that both sides stay in cache. */
export function transpose(a: Matrix): Matrix64 {
  const { rows: m, cols: n, data } = a;
  const out = new Float64Array(m * n);
  const T = 32;
  for (let i0 = 0; i0 < m; i0 += T) {
    const i1 = Math.min(m, i0 + T);
    for (let j0 = 0; j0 < n; j0 += T) {
      const j1 = Math.min(n, j0 + T);
      for (let i = i0; i < i1; i++) {
        for (let j = j0; j < j1; j++) out[j * m + i] = data[i * n + j]!;
      }
    }
  }
  return { rows: n, cols: m, data: out };
}

/**
 * C = A · B (m × k times k × n), Float64. Row-streaming i-k-j order: each row of C is built from
 * rows of B with axpys, which are contiguous in row-major storage; B is walked in 256-row panels so
 * that the panel stays in L2 while a row block of A passes over it.
 */
export function matmul(a: Matrix, b: Matrix): Matrix64 {
  if (a.cols !== b.rows) {
    throw new ShapeError(
      'matmul: inner dimensions differ',
      `A.cols = B.rows`,
      `[${a.rows}, ${a.cols}] · [${b.rows}, ${b.cols}]`,
    );
  }
  const m = a.rows;
  const k = a.cols;
  const n = b.cols;
  const A = a.data;
  const B = b.data;
  const C = new Float64Array(m * n);
  const P = 256;
  for (let p0 = 0; p0 < k; p0 += P) {
    const p1 = Math.min(k, p0 + P);
    for (let i = 0; i < m; i++) {
      const ci = i * n;
      const ai = i * k;
      for (let p = p0; p < p1; p++) {
        const s = A[ai + p]!;
        if (s === 0) continue;
        const bp = p * n;
        for (let j = 0; j < n; j++) C[ci + j] = C[ci + j]! + s * B[bp + j]!;
      }
    }
  }
  return { rows: m, cols: n, data: C };
}

/** Aᵀ · B (k × m transposed, times k × n) without forming Aᵀ: accumulates outer products of rows. */
export function matmulTransA(a: Matrix, b: Matrix): Matrix64 {
  if (a.rows !== b.rows) {
    throw new ShapeError(
      'matmulTransA: row counts differ',
      'A.rows = B.rows',
      `[${a.rows}, ${a.cols}], [${b.rows}, ${b.cols}]`,
    );
  }
  const k = a.rows;
  const m = a.cols;
  const n = b.cols;
  const A = a.data;
  const B = b.data;
  const C = new Float64Array(m * n);
  for (let p = 0; p < k; p++) {
    const ap = p * m;
    const bp = p * n;
    for (let i = 0; i < m; i++) {
      const s = A[ap + i]!;
      if (s === 0) continue;
      const ci = i * n;
      for (let j = 0; j < n; j++) C[ci + j] = C[ci + j]! + s * B[bp + j]!;
    }
  }
  return { rows: m, cols: n, data: C };
}

/** ‖A‖_F = sqrt(Σ a_ij²), accumulated in Float64 with scaling against overflow. */
export function frobeniusNorm(a: Matrix): number {
  const d = a.data;
  let scale = 0;
  for (let i = 0; i < d.length; i++) scale = Math.max(scale, Math.abs(d[i]!));
  if (scale === 0 || !Number.isFinite(scale)) return scale;
  let ss = 0;
  const inv = 1 / scale;
  for (let i = 0; i < d.length; i++) {
    const x = d[i]! * inv;
    ss += x * x;
  }
  return scale * Math.sqrt(ss);
}

/** A − B (same shapes). */
export function subtract(a: Matrix, b: Matrix): Matrix64 {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new ShapeError('subtract: shapes differ', `[${a.rows}, ${a.cols}]`, `[${b.rows}, ${b.cols}]`);
  }
  const out = new Float64Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i]! - b.data[i]!;
  return { rows: a.rows, cols: a.cols, data: out };
}
