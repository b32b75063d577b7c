// Singular value decompositions in float64 on the host, for PiSSA's initialisation (there is no SVD op in tfjs):
// - `thinSvd`: exact thin SVD by one-sided Jacobi rotations (Hestenes 1958; Demmel & Veselić 1992), accurate to
//   working precision, O(m·n·min(m, n)) per sweep: fine up to a few hundred columns, slow for 4096².
// - `svdLowrank`: the randomized range finder of `torch.svd_lowrank` (Halko, Martinsson & Tropp 2011, Alg. 4.4 with
//   `niter` subspace iterations), for the top q triplets of large matrices.
// Matrices are row-major Float64Array with explicit (rows, cols).

/** A = U · diag(S) · Vt with U (m, k), S (k) descending, Vt (k, n), k = min(m, n). */
export interface Svd {
  U: Float64Array;
  S: Float64Array;
  Vt: Float64Array;
  m: number;
  n: number;
  k: number;
}

/** Transpose of a (m, n) row-major matrix. */
export function transpose(a: Float64Array, m: number, n: number): Float64Array {
  const t = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j]!;
  return t;
}

/** (m, k) · (k, n) -> (m, n). */
export function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      if (aip === 0) continue;
      const bo = p * n;
      const co = i * n;
      for (let j = 0; j < n; j++) c[co + j] = c[co + j]! + aip * b[bo + j]!;
    }
  }
  return c;
}

/**
 * One-sided Jacobi on the columns of G (rows stored as columns: `cols` holds n column vectors of length m).
 * Rotates column pairs until all are orthogonal; accumulates the rotations in V (n, n). Needs m >= n.
 */
function jacobiColumns(cols: Float64Array[], n: number): Float64Array[] {
  const V = Array.from({ length: n }, (_, i) => {
    const v = new Float64Array(n);
    v[i] = 1;
    return v;
  });
  const eps = 2.220446049250313e-16;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const x = cols[p]!;
        const y = cols[q]!;
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < x.length; i++) {
          alpha += x[i]! * x[i]!;
          beta += y[i]! * y[i]!;
          gamma += x[i]! * y[i]!;
        }
        // Converged pair: |x·y| <= eps·‖x‖‖y‖.
        if (Math.abs(gamma) <= eps * Math.sqrt(alpha * beta) || gamma === 0) continue;
        rotated = true;
        // Rotation that zeroes the (p, q) entry of GᵀG: ζ = (β − α) / 2γ, t = sign(ζ) / (|ζ| + √(1 + ζ²)).
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < x.length; i++) {
          const xi = x[i]!;
          const yi = y[i]!;
          x[i] = c * xi - s * yi;
          y[i] = s * xi + c * yi;
        }
        const vp = V[p]!;
        const vq = V[q]!;
        for (let i = 0; i < n; i++) {
          const a = vp[i]!;
          const b = vq[i]!;
          vp[i] = c * a - s * b;
          vq[i] = s * a + c * b;
        }
      }
    }
    if (!rotated) break;
  }
  return V;
}

/** Exact thin SVD of a (m, n) matrix by one-sided Jacobi; singular values descending. */
export function thinSvd(a: Float64Array, m: number, n: number): Svd {
  if (a.length !== m * n) throw new Error(`thinSvd: ${a.length} values for a (${m}, ${n}) matrix`);
  // Work on whichever of A, Aᵀ has at least as many rows as columns: A = U S Vᵀ  <=>  Aᵀ = V S Uᵀ.
  const tall = m >= n;
  const rows = tall ? m : n;
  const cols = tall ? n : m;
  const g = tall ? a : transpose(a, m, n); // (rows, cols)
  const colVecs = Array.from({ length: cols }, (_, j) => {
    const v = new Float64Array(rows);
    for (let i = 0; i < rows; i++) v[i] = g[i * cols + j]!;
    return v;
  });
  const V = jacobiColumns(colVecs, cols); // V[j] = j-th column of the right factor of g (length cols)
  const sigma = colVecs.map((v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0)));
  const order = [...sigma.keys()].sort((i, j) => sigma[j]! - sigma[i]!);
  const k = cols;
  // g = L · diag(σ) · Rᵀ with L[:, j] = col_j / σ_j, R[:, j] = V[j].
  const L = new Float64Array(rows * k);
  const Rt = new Float64Array(k * cols);
  const S = new Float64Array(k);
  order.forEach((j, idx) => {
    const s = sigma[j]!;
    S[idx] = s;
    const v = colVecs[j]!;
    for (let i = 0; i < rows; i++) L[i * k + idx] = s > 0 ? v[i]! / s : 0;
    const r = V[j]!;
    for (let i = 0; i < cols; i++) Rt[idx * cols + i] = r[i]!;
  });
  if (tall) return { U: L, S, Vt: Rt, m, n, k };
  // A = (gᵀ) = R · diag(σ) · Lᵀ: U = R (m = cols, k), Vt = Lᵀ (k, n = rows).
  return { U: transpose(Rt, k, cols), S, Vt: transpose(L, rows, k), m, n, k };
}

/** Orthonormal basis Q (m, q) of the columns of X (m, q) by modified Gram-Schmidt, run twice for stability. */
export function orthonormalize(x: Float64Array, m: number, q: number): Float64Array {
  const cols = Array.from({ length: q }, (_, j) => {
    const v = new Float64Array(m);
    for (let i = 0; i < m; i++) v[i] = x[i * q + j]!;
    return v;
  });
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < q; j++) {
      const v = cols[j]!;
      for (let p = 0; p < j; p++) {
        const u = cols[p]!;
        let d = 0;
        for (let i = 0; i < m; i++) d += u[i]! * v[i]!;
        for (let i = 0; i < m; i++) v[i] = v[i]! - d * u[i]!;
      }
      let nrm = 0;
      for (let i = 0; i < m; i++) nrm += v[i]! * v[i]!;
      nrm = Math.sqrt(nrm);
      for (let i = 0; i < m; i++) v[i] = nrm > 0 ? v[i]! / nrm : 0;
    }
  }
  const out = new Float64Array(m * q);
  for (let j = 0; j < q; j++) for (let i = 0; i < m; i++) out[i * q + j] = cols[j]![i]!;
  return out;
}

/**
 * Top-q SVD of A (m, n) as `torch.svd_lowrank(A, q, niter)` computes it: Q = orth(A·Ω) for a Gaussian Ω (n, q),
 * then `niter` times Q = orth(Aᵀ·Q), Q = orth(A·Q); finally the exact SVD of the small B = Qᵀ·A (q, n) gives
 * U = Q·U_B. `randn` supplies the standard normal draws.
 */
export function svdLowrank(
  a: Float64Array,
  m: number,
  n: number,
  q: number,
  niter: number,
  randn: () => number,
): Svd {
  const omega = Float64Array.from({ length: n * q }, randn);
  const at = transpose(a, m, n);
  let Q = orthonormalize(matmul(a, omega, m, n, q), m, q); // (m, q)
  for (let i = 0; i < niter; i++) {
    const Z = orthonormalize(matmul(at, Q, n, m, q), n, q); // (n, q)
    Q = orthonormalize(matmul(a, Z, m, n, q), m, q);
  }
  const Bm = matmul(transpose(Q, m, q), a, q, m, n); // (q, n)
  const small = thinSvd(Bm, q, n); // U (q, k), k = min(q, n)
  return { U: matmul(Q, small.U, m, q, small.k), S: small.S, Vt: small.Vt, m, n, k: small.k };
}
