// The singular value decomposition A = U · diag(s) · Vᵀ of a dense matrix, in Float64:
// Householder bidiagonalisation (bidiagonalize.ts) then implicit-shift QR on the bidiagonal (bidiagonal-qr.ts).

import { bidiagonalQr } from './bidiagonal-qr.js';
import { bidiagonalize, formP, formQ } from './bidiagonalize.js';
import { DataError } from './errors.js';
import { checkMatrix, type Matrix, type Matrix64 } from './matrix.js';

/** Options of {@link svd}. */
export interface SvdOptions {
  /** Also compute the thin singular vectors U (m × k) and Vᵀ (k × n), k = min(m, n). Default false. */
  vectors?: boolean;
  /** Implementation of the bidiagonalisation sweeps (see BidiagonalizeOptions). Default 'auto'. */
  kernel?: 'auto' | 'wasm' | 'js';
}

/** A thin SVD: `s` descending (k = min(m, n)); `u` (m × k, columns are left singular vectors) and `vt` (k × n) when asked. */
export interface SvdResult {
  s: Float64Array;
  u?: Matrix64;
  vt?: Matrix64;
}

/**
 * Thin SVD of `a` (m × n, row-major, Float32 or Float64): s_1 ≥ … ≥ s_k ≥ 0 with k = min(m, n), and U, Vᵀ
 * when `vectors` is set, such that A = U diag(s) Vᵀ, UᵀU = VᵀV = I_k.
 *
 * Accuracy: backward stable, so |s_i − s_i(exact)| ≲ c·max(m, n)·ε·s_1 (as LAPACK's dgesdd); values well
 * above ε·s_1 are accurate to about ε·s_1/s_i relative.
 * Cost: 8/3·n³ + 4(m − n)n² flops for the values (m ≥ n; a wide matrix is transposed), about three times
 * that with vectors (forming Q and P, and the rotations of the QR sweeps).
 */
export function svd(a: Matrix, options: SvdOptions = {}): SvdResult {
  checkMatrix(a);
  const vectors = options.vectors ?? false;
  const transposed = a.rows < a.cols;
  const m = transposed ? a.cols : a.rows; // working shape m × n with m ≥ n
  const n = transposed ? a.rows : a.cols;
  const w = new Float64Array(m * n);
  // Copy (transposing a wide input) and find max |a_ij| to scale by: keeps sums of squares clear of overflow.
  let amax = 0;
  const src = a.data;
  if (transposed) {
    for (let i = 0; i < a.rows; i++) {
      for (let j = 0; j < a.cols; j++) w[j * n + i] = src[i * a.cols + j]!;
    }
  } else {
    w.set(src);
  }
  for (let i = 0; i < w.length; i++) {
    const x = Math.abs(w[i]!);
    if (!(x <= amax)) {
      if (!Number.isFinite(x)) {
        const r = transposed ? i % n : Math.floor(i / n);
        const c = transposed ? Math.floor(i / n) : i % n;
        throw new DataError(`svd: the matrix has a non-finite entry ${w[i]} at row ${r}, column ${c}`);
      }
      amax = x;
    }
  }
  if (amax > 0) {
    const inv = 1 / amax;
    for (let i = 0; i < w.length; i++) w[i] = w[i]! * inv;
  }

  const { d, e, tauq, taup } = bidiagonalize(w, m, n, { kernel: options.kernel ?? 'auto' });
  const q = vectors ? formQ(w, m, n, tauq) : null;
  const p = vectors ? formP(w, n, taup) : null;
  bidiagonalQr(d, e, q, m, p, n);

  // Sort descending and undo the scaling.
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y]! - d[x]!);
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = d[order[i]!]! * amax;
  if (!vectors || !q || !p) return { s };

  // Working A_w = Q diag(d) Pᵀ. Not transposed: U = Q, V = P. Transposed (A = A_wᵀ): U = P, V = Q.
  const pickColumns = (x: Float64Array, rows: number): Matrix64 => {
    const out = new Float64Array(rows * n);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < n; i++) out[r * n + i] = x[r * n + order[i]!]!;
    }
    return { rows, cols: n, data: out };
  };
  const pickColumnsTransposed = (x: Float64Array, rows: number): Matrix64 => {
    const out = new Float64Array(n * rows);
    for (let i = 0; i < n; i++) {
      const c = order[i]!;
      for (let r = 0; r < rows; r++) out[i * rows + r] = x[r * n + c]!;
    }
    return { rows: n, cols: rows, data: out };
  };
  return transposed
    ? { s, u: pickColumns(p, n), vt: pickColumnsTransposed(q, m) }
    : { s, u: pickColumns(q, m), vt: pickColumnsTransposed(p, n) };
}

/** All min(m, n) singular values of `a`, descending (see {@link svd}). */
export function singularValues(a: Matrix): Float64Array {
  return svd(a).s;
}
