// Thin Householder QR A = Q R of a row-major m × n matrix, m ≥ n (Golub & Van Loan Algorithm 5.2.1).
import { formQ } from './bidiagonalize.js';
import { ShapeError } from './errors.js';
import type { Matrix, Matrix64 } from './matrix.js';

/** Q (m × n, orthonormal columns) and R (n × n, upper triangular) with A = Q R. */
export interface QrResult {
  q: Matrix64;
  r: Matrix64;
}

/**
 * Householder QR, Float64. Step k builds the reflector of column k (rows k…m−1), then applies it to the
 * trailing columns with two row-contiguous sweeps (w = vᵀ A[k:, k+1:], A ← A − τ v w). Rank-deficient
 * input is fine (a zero column gives τ = 0 and a zero row of R). Cost 2mn² − 2n³/3 flops, plus as much for Q.
 */
export function qr(a: Matrix): QrResult {
  const { rows: m, cols: n } = a;
  if (m < n) throw new ShapeError('qr: thin QR needs rows ≥ cols', 'rows ≥ cols', `[${m}, ${n}]`);
  const x = Float64Array.from(a.data);
  const tau = new Float64Array(n);
  const w = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let ss = 0;
    for (let i = k + 1; i < m; i++) ss += x[i * n + k]! ** 2;
    const alpha = x[k * n + k]!;
    if (ss === 0) continue; // H = I
    const beta = -Math.sign(alpha || 1) * Math.hypot(alpha, Math.sqrt(ss));
    const t = (beta - alpha) / beta;
    const scale = 1 / (alpha - beta);
    tau[k] = t;
    x[k * n + k] = beta;
    for (let i = k + 1; i < m; i++) x[i * n + k] = x[i * n + k]! * scale;
    const L = n - k - 1;
    if (L === 0) continue;
    // w = vᵀ A[k:, k+1:], v = [1, x[k+1][k], …]
    for (let j = 0; j < L; j++) w[j] = x[k * n + k + 1 + j]!;
    for (let i = k + 1; i < m; i++) {
      const vi = x[i * n + k]!;
      const base = i * n + k + 1;
      for (let j = 0; j < L; j++) w[j] = w[j]! + vi * x[base + j]!;
    }
    for (let j = 0; j < L; j++) x[k * n + k + 1 + j] = x[k * n + k + 1 + j]! - t * w[j]!;
    for (let i = k + 1; i < m; i++) {
      const s = t * x[i * n + k]!;
      const base = i * n + k + 1;
      for (let j = 0; j < L; j++) x[base + j] = x[base + j]! - s * w[j]!;
    }
  }
  const r = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) r[i * n + j] = x[i * n + j]!;
  return { q: { rows: m, cols: n, data: formQ(x, m, n, tau) }, r: { rows: n, cols: n, data: r } };
}
