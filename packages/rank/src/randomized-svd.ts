// Top-k singular triplets by randomized range finding (Halko, Martinsson & Tropp 2011, "Finding structure
// with randomness", Algorithms 4.4 and 5.1), with the a-posteriori error estimate of their §4.3.
import { ConfigError } from './errors.js';
import { checkMatrix, type Matrix, type Matrix64, matmul, matmulTransA, transpose } from './matrix.js';
import { qr } from './qr.js';
import { Random } from './random.js';
import { svd } from './svd.js';

/** Options of {@link randomizedSvd}. */
export interface RandomizedSvdOptions {
  /** Number of singular triplets wanted. */
  k: number;
  /** Extra sample columns p (l = k + p). Default 10. */
  oversample?: number;
  /** Power (subspace) iterations q: accuracy improves like (σ_{l+1}/σ_k)^(2q+1). Default 2. */
  powerIterations?: number;
  /** Gaussian probe vectors r of the error estimate (failure probability 10^−r). Default 10. */
  probes?: number;
  /** Also return U and Vᵀ. Default true. */
  vectors?: boolean;
  /** Seed of the test matrices. Default 0. */
  seed?: number;
}

/** Result of {@link randomizedSvd}. */
export interface RandomizedSvdResult {
  /** The k largest approximate singular values, descending; each is ≤ the true σ_i (interlacing for Qᵀ A). */
  s: Float64Array;
  u?: Matrix64;
  vt?: Matrix64;
  /**
   * Estimated ‖A − Q Qᵀ A‖_2 = ‖A − U_l Σ_l V_lᵀ‖_2 for the rank-l approximation, from r Gaussian probes:
   * 10·sqrt(2/π)·max_i ‖(I − QQᵀ) A ω_i‖, an upper bound with probability ≥ 1 − 10^−r (HMT eq. 4.3).
   */
  errorEstimate: number;
  /** sqrt(s_i² + errorEstimate²): with that probability, s_i ≤ σ_i(A) ≤ sUpper_i (Weyl on AᵀA = BᵀB + EᵀE). */
  sUpper: Float64Array;
  /** ‖A v_i − s_i u_i‖_2 per triplet (only with vectors): some true singular value lies within it of s_i. */
  residuals?: Float64Array;
}

/**
 * Randomized SVD: Y = (A Aᵀ)^q A Ω with Ω Gaussian (n × l), re-orthonormalised by QR after every product;
 * Q = orth(Y) (m × l); B = Qᵀ A (l × n) = Ũ Σ Vᵀ by the dense SVD; U = Q Ũ. Cost O(mnl(2q + 2)).
 */
export function randomizedSvd(a: Matrix, options: RandomizedSvdOptions): RandomizedSvdResult {
  checkMatrix(a);
  const { k } = options;
  const oversample = options.oversample ?? 10;
  const q = options.powerIterations ?? 2;
  const probes = options.probes ?? 10;
  const vectors = options.vectors ?? true;
  const minDim = Math.min(a.rows, a.cols);
  if (!(Number.isInteger(k) && k >= 1 && k <= minDim))
    throw new ConfigError(`must be an integer in [1, ${minDim}], found ${k}`, 'k');
  if (!(Number.isInteger(oversample) && oversample >= 0))
    throw new ConfigError(`must be a non-negative integer, found ${oversample}`, 'oversample');
  if (!(Number.isInteger(q) && q >= 0))
    throw new ConfigError(`must be a non-negative integer, found ${q}`, 'powerIterations');
  if (!(Number.isInteger(probes) && probes >= 1))
    throw new ConfigError(`must be a positive integer, found ${probes}`, 'probes');
  const l = Math.min(minDim, k + oversample);
  const rng = new Random(options.seed ?? 0);
  const omega: Matrix64 = { rows: a.cols, cols: l, data: rng.normals(a.cols * l) };
  // Range finder with power iterations: Q ← orth(A Ω); repeat q times: Q ← orth(A orth(Aᵀ Q)).
  let qm = qr(matmul(a, omega)).q; // (m, l)
  for (let it = 0; it < q; it++) {
    const z = qr(matmulTransA(a, qm)).q; // (n, l)
    qm = qr(matmul(a, z)).q; // (m, l)
  }
  const b = matmulTransA(qm, a); // Qᵀ A, (l, n)
  const small = svd(b, { vectors: true });
  // Error estimate: ‖(I − QQᵀ) A ω‖ for fresh Gaussian ω.
  const w: Matrix64 = { rows: a.cols, cols: probes, data: rng.normals(a.cols * probes) };
  const aw = matmul(a, w); // (m, r)
  const qtaw = matmulTransA(qm, aw); // (l, r)
  const proj = matmul(qm, qtaw); // Q Qᵀ A ω, (m, r)
  let worst = 0;
  for (let c = 0; c < probes; c++) {
    let ss = 0;
    for (let i = 0; i < a.rows; i++) ss += (aw.data[i * probes + c]! - proj.data[i * probes + c]!) ** 2;
    worst = Math.max(worst, Math.sqrt(ss));
  }
  const errorEstimate = 10 * Math.sqrt(2 / Math.PI) * worst;
  const s = small.s.slice(0, k);
  const sUpper = s.map((x) => Math.sqrt(x * x + errorEstimate * errorEstimate));
  if (!vectors) return { s, errorEstimate, sUpper };
  // U = Q Ũ[:, :k] (m, k), Vᵀ = Vᵀ[:k, :] (k, n)
  const ut = { rows: l, cols: k, data: new Float64Array(l * k) };
  for (let i = 0; i < l; i++)
    for (let j = 0; j < k; j++) ut.data[i * k + j] = small.u!.data[i * small.u!.cols + j]!;
  const u = matmul(qm, ut);
  const vt: Matrix64 = { rows: k, cols: a.cols, data: small.vt!.data.slice(0, k * a.cols) };
  // residuals ‖A v_i − s_i u_i‖
  const av = matmul(a, transpose(vt)); // (m, k)
  const residuals = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let ss = 0;
    for (let i = 0; i < a.rows; i++) ss += (av.data[i * k + j]! - s[j]! * u.data[i * k + j]!) ** 2;
    residuals[j] = Math.sqrt(ss);
  }
  return { s, u, vt, errorEstimate, sUpper, residuals };
}
