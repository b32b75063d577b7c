// Singular values (and, on request, the rotations into U and V) of an upper bidiagonal matrix by
// implicit-shift QR: Golub & Reinsch (1970), "Singular value decomposition and least squares solutions",
// as in Golub & Van Loan Algorithm 8.6.2 and LAPACK dbdsqr's standard-shift path.
import { ConvergenceError } from './errors.js';

/** Largest number of QR sweeps spent on one singular value before giving up (LAPACK allows 6 per value overall). */
const MAX_SWEEPS_PER_VALUE = 100;

/**
 * sqrt(a² + b²) without overflow or harmful underflow; several times faster than Math.hypot in V8, which
 * matters because a QR sweep calls it twice per rotation.
 */
function hypot(a: number, b: number): number {
  const x = Math.abs(a);
  const y = Math.abs(b);
  const big = Math.max(x, y);
  if (big === 0) return 0;
  const small = Math.min(x, y);
  if (small === 0) return big;
  const r = small / big;
  return big * Math.sqrt(1 + r * r);
}

function sign(a: number, b: number): number {
  return b >= 0 ? Math.abs(a) : -Math.abs(a);
}

/**
 * Applies a chain of plane rotations on adjacent columns l…k to every row of X (rows × cols, row-major):
 * for j = l…k−1, [x_j, x_{j+1}] ← [x_j c_j + x_{j+1} s_j, x_{j+1} c_j − x_j s_j]. The chain is carried
 * along each row in a register, so a whole QR sweep costs one contiguous pass over X.
 */
function applyChain(
  x: Float64Array,
  rows: number,
  cols: number,
  l: number,
  k: number,
  c: Float64Array,
  s: Float64Array,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let carry = x[base + l]!;
    for (let j = l; j < k; j++) {
      const next = x[base + j + 1]!;
      const cj = c[j]!;
      const sj = s[j]!;
      x[base + j] = carry * cj + next * sj;
      carry = next * cj - carry * sj;
    }
    x[base + k] = carry;
  }
}

/**
 * Diagonalises the upper bidiagonal B = diag(d) + superdiag(e) (n × n) in place: on return d holds the
 * singular values (non-negative, unsorted) and e is destroyed.
 *
 * When `u` (uRows × n, row-major) and `v` (vRows × n) are given, the left rotations are applied to the
 * columns of u and the right ones to the columns of v, so that if A = U_in B V_inᵀ on entry, then
 * A = U_out diag(d) V_outᵀ on return.
 *
 * Convergence: a superdiagonal entry is set to zero once |e_i| ≤ ε‖B‖ (with ‖B‖ ≈ max_i |d_i| + |e_i|),
 * so the values carry an absolute error of order ε‖B‖, which is what LAPACK's dgesdd guarantees too
 * after its (equally backward-stable) bidiagonalisation.
 */
export function bidiagonalQr(
  d: Float64Array,
  e: Float64Array,
  u: Float64Array | null = null,
  uRows = 0,
  v: Float64Array | null = null,
  vRows = 0,
): void {
  const n = d.length;
  if (n === 0) return;
  // f[i] couples d[i − 1] and d[i]; f[0] = 0 (Numerical Recipes' rv1 layout).
  const f = new Float64Array(n);
  for (let i = 1; i < n; i++) f[i] = e[i - 1]!;
  let anorm = 0;
  for (let i = 0; i < n; i++) anorm = Math.max(anorm, Math.abs(d[i]!) + Math.abs(f[i]!));
  const tol = Number.EPSILON * anorm;
  const cu = new Float64Array(n);
  const su = new Float64Array(n);
  const cv = new Float64Array(n);
  const sv = new Float64Array(n);

  for (let k = n - 1; k >= 0; k--) {
    for (let sweep = 0; ; sweep++) {
      // Find the top l of the unreduced block l…k: f[l] negligible, or d[l − 1] negligible (then chase f[l] out).
      let l = k;
      let cancel = true;
      for (; l >= 0; l--) {
        if (l === 0 || Math.abs(f[l]!) <= tol) {
          cancel = false;
          break;
        }
        if (Math.abs(d[l - 1]!) <= tol) break;
      }
      if (cancel) {
        // d[l−1] ≈ 0: rotate rows (l−1, i), i = l…k, from the left to zero f[l] (G&VL 8.6.2, zero-diagonal case).
        const nm = l - 1;
        let c = 0;
        let s = 1;
        for (let i = l; i <= k; i++) {
          const ff = s * f[i]!;
          f[i] = c * f[i]!;
          if (Math.abs(ff) <= tol) break;
          const g = d[i]!;
          let h = hypot(ff, g);
          d[i] = h;
          h = 1 / h;
          c = g * h;
          s = -ff * h;
          if (u) {
            for (let r = 0; r < uRows; r++) {
              const y = u[r * n + nm]!;
              const zz = u[r * n + i]!;
              u[r * n + nm] = y * c + zz * s;
              u[r * n + i] = zz * c - y * s;
            }
          }
        }
      }
      const zk = d[k]!;
      if (l === k) {
        // Converged: make the value non-negative (flip the right vector).
        if (zk < 0) {
          d[k] = -zk;
          if (v) for (let r = 0; r < vRows; r++) v[r * n + k] = -v[r * n + k]!;
        }
        break;
      }
      if (!Number.isFinite(zk)) {
        throw new ConvergenceError(`non-finite value in the bidiagonal at index ${k}`, 'bidiagonal-qr');
      }
      if (sweep >= MAX_SWEEPS_PER_VALUE) {
        throw new ConvergenceError(
          `no convergence for singular value ${k} of ${n} after ${MAX_SWEEPS_PER_VALUE} QR sweeps`,
          'bidiagonal-qr',
        );
      }
      // Wilkinson-type shift from the trailing 2 × 2 of BᵀB, then one implicit QR sweep over l…k.
      let x = d[l]!;
      const nm = k - 1;
      let y = d[nm]!;
      let g = f[nm]!;
      let h = f[k]!;
      let ff = ((y - zk) * (y + zk) + (g - h) * (g + h)) / (2 * h * y);
      g = hypot(ff, 1);
      ff = ((x - zk) * (x + zk) + h * (y / (ff + sign(g, ff)) - h)) / x;
      let c = 1;
      let s = 1;
      for (let j = l; j <= nm; j++) {
        const i = j + 1;
        g = f[i]!;
        y = d[i]!;
        h = s * g;
        g = c * g;
        let zz = hypot(ff, h);
        f[j] = zz;
        c = ff / zz;
        s = h / zz;
        ff = x * c + g * s;
        g = g * c - x * s;
        h = y * s;
        y *= c;
        cv[j] = c;
        sv[j] = s;
        zz = hypot(ff, h);
        d[j] = zz;
        if (zz !== 0) {
          zz = 1 / zz;
          c = ff * zz;
          s = h * zz;
        }
        ff = c * g + s * y;
        x = c * y - s * g;
        cu[j] = c;
        su[j] = s;
      }
      f[l] = 0;
      f[k] = ff;
      d[k] = x;
      if (v) applyChain(v, vRows, n, l, k, cv, sv);
      if (u) applyChain(u, uRows, n, l, k, cu, su);
    }
  }
}
