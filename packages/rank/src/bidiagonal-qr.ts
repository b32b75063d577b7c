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
 * Applies one QR sweep's chain of plane rotations to singular vectors stored as rows l…k of X (row-major,
 * `cols` wide), on columns col0…col1−1: for j = l…k−1,
 * [row_j, row_{j+1}] ← [c_j row_j + s_j row_{j+1}, c_j row_{j+1} − s_j row_j].
 * (The WebAssembly `chain` kernel does the same 8 columns at a time.)
 */
export function applyChainRows(
  x: Float64Array,
  cols: number,
  l: number,
  k: number,
  c: Float64Array,
  s: Float64Array,
  col0 = 0,
  col1 = cols,
): void {
  for (let j = l; j < k; j++) {
    const cj = c[j]!;
    const sj = s[j]!;
    const a = j * cols;
    const b = a + cols;
    for (let t = col0; t < col1; t++) {
      const xa = x[a + t]!;
      const xb = x[b + t]!;
      x[a + t] = xa * cj + xb * sj;
      x[b + t] = xb * cj - xa * sj;
    }
  }
}

/** Applies a rotation chain to columns col0…col1−1 (see {@link applyChainRows}, the default). */
export type ChainApplier = (
  x: Float64Array,
  cols: number,
  l: number,
  k: number,
  c: Float64Array,
  s: Float64Array,
  col0: number,
  col1: number,
) => void;

/** Singular vectors to rotate along with the bidiagonal, as rows (row i = the vector of d[i]). */
export interface BidiagonalVectors {
  /** Left vectors, n rows × uCols (omit to skip them). */
  ut?: Float64Array | undefined;
  uCols: number;
  /** Right vectors, n rows × vCols (omit to skip them). */
  vt?: Float64Array | undefined;
  vCols: number;
  /** Applies a rotation chain; default {@link applyChainRows}. */
  chain?: ChainApplier;
  /**
   * Storage for the rotations of up to `size` sweeps, each n long: [cu, su, cv, sv], each size · n. The sweeps'
   * rotations are recorded there and applied together, column panel by column panel, so that U and V are
   * streamed through memory once per batch instead of once per sweep. Default: 32 sweeps.
   */
  batch?: { size: number; cu: Float64Array; su: Float64Array; cv: Float64Array; sv: Float64Array };
}

/** Columns per panel when a batch of chains is applied: the panel's rows stay in cache across the batch. */
const PANEL_COLUMNS = 32;

/**
 * Diagonalises the upper bidiagonal B = diag(d) + superdiag(e) (n × n) in place: on return d holds the
 * singular values (non-negative, unsorted) and e is destroyed.
 *
 * When `vectors` is given, the left rotations are applied to its rows `ut` and the right ones to `vt`, so
 * that if A = U_in B V_inᵀ on entry (U = utᵀ, V = vtᵀ), then A = U_out diag(d) V_outᵀ on return.
 *
 * Convergence: a superdiagonal entry is set to zero once |e_i| ≤ ε‖B‖ (with ‖B‖ ≈ max_i |d_i| + |e_i|),
 * so the values carry an absolute error of order ε‖B‖, which is what LAPACK's dgesdd guarantees too
 * after its (equally backward-stable) bidiagonalisation.
 */
export function bidiagonalQr(d: Float64Array, e: Float64Array, vectors?: BidiagonalVectors): void {
  const n = d.length;
  if (n === 0) return;
  // f[i] couples d[i − 1] and d[i]; f[0] = 0 (Numerical Recipes' rv1 layout).
  const f = new Float64Array(n);
  for (let i = 1; i < n; i++) f[i] = e[i - 1]!;
  let anorm = 0;
  for (let i = 0; i < n; i++) anorm = Math.max(anorm, Math.abs(d[i]!) + Math.abs(f[i]!));
  const tol = Number.EPSILON * anorm;
  const u = vectors?.ut;
  const v = vectors?.vt;
  const uCols = vectors?.uCols ?? 0;
  const vCols = vectors?.vCols ?? 0;
  const chain = vectors?.chain ?? applyChainRows;
  const batch = vectors?.batch ?? {
    size: 32,
    cu: new Float64Array(32 * n),
    su: new Float64Array(32 * n),
    cv: new Float64Array(32 * n),
    sv: new Float64Array(32 * n),
  };
  // Sweeps recorded but not yet applied to the vectors: block l…k, rotations in slot `pending.length`.
  const pending: [number, number][] = [];
  const slot = (x: Float64Array, i: number) => x.subarray(i * n, (i + 1) * n);
  const flush = () => {
    if (pending.length === 0) return;
    for (const [x, cols, cs, sn] of [
      [u, uCols, batch.cu, batch.su],
      [v, vCols, batch.cv, batch.sv],
    ] as const) {
      if (!x) continue;
      for (let c0 = 0; c0 < cols; c0 += PANEL_COLUMNS) {
        const c1 = Math.min(cols, c0 + PANEL_COLUMNS);
        for (const [i, [l, k]] of pending.entries()) chain(x, cols, l, k, slot(cs, i), slot(sn, i), c0, c1);
      }
    }
    pending.length = 0;
    selectSlot(0);
  };
  const flips: number[] = [];
  // Where the next sweep writes its rotations: slot pending.length of the batch.
  let cu = slot(batch.cu, 0);
  let su = slot(batch.su, 0);
  let cv = slot(batch.cv, 0);
  let sv = slot(batch.sv, 0);
  function selectSlot(i: number): void {
    cu = slot(batch.cu, i);
    su = slot(batch.su, i);
    cv = slot(batch.cv, i);
    sv = slot(batch.sv, i);
  }

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
            flush(); // this rotation must come after the recorded sweeps
            const a = nm * uCols;
            const b = i * uCols;
            for (let t = 0; t < uCols; t++) {
              const y = u[a + t]!;
              const zz = u[b + t]!;
              u[a + t] = y * c + zz * s;
              u[b + t] = zz * c - y * s;
            }
          }
        }
      }
      const zk = d[k]!;
      if (l === k) {
        // Converged: make the value non-negative by flipping the right vector. Recorded sweeps may still
        // rotate row k, later ones never do, so the flip is applied after the last flush.
        if (zk < 0) {
          d[k] = -zk;
          flips.push(k);
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
      if (u || v) {
        pending.push([l, k]);
        if (pending.length === batch.size) flush();
        else selectSlot(pending.length);
      }
    }
  }
  flush();
  if (v) for (const k of flips) for (let t = k * vCols; t < (k + 1) * vCols; t++) v[t] = -v[t]!;
}
