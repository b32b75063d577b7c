// The singular value decomposition A = U · diag(s) · Vᵀ of a dense matrix, in Float64:
// Householder bidiagonalisation (bidiagonalize.ts) then implicit-shift QR on the bidiagonal (bidiagonal-qr.ts).

import { applyChainRows, type BidiagonalVectors, bidiagonalQr } from './bidiagonal-qr.js';
import { bidiagonalize } from './bidiagonalize.js';
import { DataError } from './errors.js';
import { checkMatrix, type Matrix, type Matrix64 } from './matrix.js';
import { createWasmKernels } from './wasm-kernels.js';

/** Options of {@link svd}. */
export interface SvdOptions {
  /**
   * Also compute the thin singular vectors U (m × k) and Vᵀ (k × n), k = min(m, n); `'left'` computes U only
   * (about 40% less work than both). Default false.
   */
  vectors?: boolean | 'left';
  /** Implementation of the bidiagonalisation sweeps (see BidiagonalizeOptions). Default 'auto'. */
  kernel?: 'auto' | 'wasm' | 'js';
  /** Threads for the bidiagonalisation sweeps, 1 or 2 (see BidiagonalizeOptions). Default 1. */
  threads?: number;
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

  const kernel = options.kernel ?? 'auto';
  const { d, e, tauq, taup } = bidiagonalize(w, m, n, { kernel, threads: options.threads ?? 1 });
  // Which factors to form: U is Q's side unless the input was transposed.
  const side = vectors === 'left' ? (transposed ? 'p' : 'q') : vectors ? 'both' : null;
  const rows = side ? vectorRows(w, m, n, tauq, taup, kernel, side) : undefined;
  bidiagonalQr(d, e, rows);

  // Sort descending and undo the scaling.
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y]! - d[x]!);
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = d[order[i]!]! * amax;
  if (!rows) return { s };

  // Working A_w = Q diag(d) Pᵀ with Q = utᵀ, P = vtᵀ. Not transposed: U = Q, V = P. Transposed (A = A_wᵀ): U = P, V = Q.
  const asColumns = (x: Float64Array, len: number): Matrix64 => {
    // column i of the result = row order[i] of x, (len × n)
    const out = new Float64Array(len * n);
    for (let i = 0; i < n; i++) {
      const src = order[i]! * len;
      for (let r = 0; r < len; r++) out[r * n + i] = x[src + r]!;
    }
    return { rows: len, cols: n, data: out };
  };
  const asRows = (x: Float64Array, len: number): Matrix64 => {
    const out = new Float64Array(n * len);
    for (let i = 0; i < n; i++) out.set(x.subarray(order[i]! * len, (order[i]! + 1) * len), i * len);
    return { rows: n, cols: len, data: out };
  };
  const q = rows.ut;
  const p = rows.vt;
  if (transposed) return { s, ...(p ? { u: asColumns(p, n) } : {}), ...(q ? { vt: asRows(q, m) } : {}) };
  return { s, ...(q ? { u: asColumns(q, m) } : {}), ...(p ? { vt: asRows(p, n) } : {}) };
}

/**
 * Qᵀ (n × m) and Pᵀ (n × n) as rows for the QR iteration to rotate, formed directly from the reflectors
 * left by bidiagonalize() (backward accumulation from the right, one fused pass per reflector):
 *   Qᵀ = [I_n 0] H_{n−1} ⋯ H_0, each H_k touching rows k… and columns k… of the partial product;
 *   Pᵀ = G_{n−2} ⋯ G_0, each G_k touching rows k+1… and columns k+1….
 * In WebAssembly memory with the SIMD kernels when available (`reflect` here, `chain` for the rotations).
 */
function vectorRows(
  w: Float64Array,
  m: number,
  n: number,
  tauq: Float64Array,
  taup: Float64Array,
  kernel: 'auto' | 'wasm' | 'js',
  side: 'q' | 'p' | 'both',
): BidiagonalVectors {
  const B = 32; // sweeps per batch of rotations
  const wantQ = side !== 'p';
  const wantP = side !== 'q';
  // layout (Float64 slots): 1 pad (the kernels may read one slot before a row), Qᵀ, Pᵀ, v, 4 rotation batches
  const offQ = 1;
  const offP = offQ + (wantQ ? n * m : 0);
  const offV = offP + (wantP ? n * n : 0);
  const offR = offV + m;
  const total = offR + 4 * B * n;
  const wasm = kernel === 'js' ? null : createWasmKernels(total * 8);
  if (kernel === 'wasm' && !wasm) throw new Error('svd: the WebAssembly SIMD kernel is not available here');
  const buf = wasm ? wasm.memory.buffer : new ArrayBuffer(total * 8);
  const ut = wantQ ? new Float64Array(buf, offQ * 8, n * m) : undefined;
  const vt = wantP ? new Float64Array(buf, offP * 8, n * n) : undefined;
  const v = new Float64Array(buf, offV * 8, m);
  const rot = (i: number) => new Float64Array(buf, (offR + i * B * n) * 8, B * n);
  // X (rows × cols) ← X (I − tau v vᵀ) on rows r0… and columns r0… (v[r0] = 1 and v's tail in v[r0+1…]).
  const reflect = (x: Float64Array, rows: number, cols: number, r0: number, tau: number) => {
    if (wasm) wasm.reflect(x.byteOffset, cols, r0 - 1, rows, 0, v.byteOffset + r0 * 8, 0, 0, tau);
    else reflectRows(x, rows, cols, r0, v, tau);
  };
  for (let i = 0; ut && i < n; i++) ut[i * m + i] = 1;
  for (let k = n - 1; ut && k >= 0; k--) {
    const tau = tauq[k]!;
    if (tau === 0) continue;
    v[k] = 1;
    for (let i = k + 1; i < m; i++) v[i] = w[i * n + k]!;
    reflect(ut, n, m, k, tau);
  }
  for (let i = 0; vt && i < n; i++) vt[i * n + i] = 1;
  for (let k = n - 2; vt && k >= 0; k--) {
    const tau = taup[k]!;
    if (tau === 0) continue;
    v[k + 1] = 1;
    for (let j = k + 2; j < n; j++) v[j] = w[k * n + j]!;
    reflect(vt, n, n, k + 1, tau);
  }
  const rows: BidiagonalVectors = {
    ut,
    uCols: m,
    vt,
    vCols: n,
    batch: { size: B, cu: rot(0), su: rot(1), cv: rot(2), sv: rot(3) },
  };
  if (wasm) {
    const f = wasm.chain;
    rows.chain = (x, cols, l, k, c, s, col0, col1) => {
      const mid = col0 + ((col1 - col0) & ~7);
      if (mid > col0) f(x.byteOffset, cols, l, k, c.byteOffset, s.byteOffset, col0, mid);
      if (mid < col1) applyChainRows(x, cols, l, k, c, s, mid, col1);
    };
  }
  return rows;
}

/** X (rows × cols) ← X (I − tau v vᵀ) on rows r0… and columns r0… (TypeScript twin of the `reflect` kernel). */
function reflectRows(
  x: Float64Array,
  rows: number,
  cols: number,
  r0: number,
  v: Float64Array,
  tau: number,
): void {
  const L = cols - r0;
  for (let i = r0; i < rows; i++) {
    const base = i * cols + r0;
    let t = 0;
    for (let j = 0; j < L; j++) t += x[base + j]! * v[r0 + j]!;
    t *= tau;
    for (let j = 0; j < L; j++) x[base + j] = x[base + j]! - t * v[r0 + j]!;
  }
}

/** All min(m, n) singular values of `a`, descending (see {@link svd}; `vectors` is ignored). */
export function singularValues(a: Matrix, options: Omit<SvdOptions, 'vectors'> = {}): Float64Array {
  return svd(a, { ...options, vectors: false }).s;
}
