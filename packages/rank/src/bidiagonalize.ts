// Householder bidiagonalisation A = Q · B · Pᵀ of a row-major m × n matrix (m ≥ n), with the
// left update, the right update and the next step's left product fused into one pass over the rows.
// Reference: Golub & Van Loan, Matrix Computations (4th ed.), Algorithm 5.4.2; LAPACK dgebd2/dlarfg.
import { createSweepHelper } from './sweep-helper.js';
import { createWasmKernels } from './wasm-kernels.js';

/**
 * Result of {@link bidiagonalize}: B is upper bidiagonal with diagonal `d` (n) and superdiagonal `e` (n − 1).
 * The Householder vectors stay in the input array, LAPACK style:
 *  - left reflector k:  H_k = I − tauq[k] · v vᵀ, v = [0…0, 1, a[(k+1)·n + k], …, a[(m−1)·n + k]] (column k below the diagonal);
 *  - right reflector k: G_k = I − taup[k] · u uᵀ, u = [0…0, 1, a[k·n + k+2], …, a[k·n + n−1]] (row k right of the superdiagonal).
 * Q = H_0 ⋯ H_{n−1} (m × m, thin part m × n), P = G_0 ⋯ G_{n−2} (n × n), and A = Q B Pᵀ.
 */
export interface Bidiagonal {
  d: Float64Array;
  e: Float64Array;
  tauq: Float64Array;
  taup: Float64Array;
}

/** Options of {@link bidiagonalize}. */
export interface BidiagonalizeOptions {
  /**
   * Which implementation runs the O(mn) sweep of each step: the WebAssembly SIMD kernel (wasm-kernels.ts), the
   * TypeScript loop, or `auto` (WebAssembly for matrices of at least 4096 entries when the runtime supports SIMD).
   */
  kernel?: 'auto' | 'wasm' | 'js';
  /**
   * Threads for the sweeps: 1, or 2 to split each step's rows with a helper worker thread over shared
   * WebAssembly memory (matrices of at least 65 536 entries; a step waits for both halves). Default 1.
   */
  threads?: number;
}

/** Below this many entries the copy into WebAssembly memory is not worth it. */
const WASM_MIN_ENTRIES = 4096;
/** Below this many entries a helper thread (about 40 ms to start) is not worth it. */
export const PARALLEL_MIN_ENTRIES = 65536;
/** A step is split between the threads only when its trailing block has at least this many entries. */
const PARALLEL_MIN_STEP = 16384;

/**
 * Householder vector of x = [alpha, x_1…] (dlarfg): H x = beta e_1 with H = I − tau v vᵀ, v = [1, x_1…/(alpha − beta)].
 * Returns [beta, tau, scale] where scale = 1/(alpha − beta) multiplies the tail of x to give the tail of v.
 * When the tail is zero, H = I (tau = 0) and beta = alpha.
 */
function householder(alpha: number, tailNorm: number): [number, number, number] {
  if (tailNorm === 0) return [alpha, 0, 0];
  const beta = -Math.sign(alpha || 1) * Math.hypot(alpha, tailNorm);
  return [beta, (beta - alpha) / beta, 1 / (alpha - beta)];
}

/**
 * Reduces `a` (row-major, m × n, m ≥ n, overwritten with the reflectors) to upper bidiagonal form.
 *
 * Step k applies H_k from the left to rows k…m−1 and G_k from the right to columns k+1…n−1. Written
 * naively that is three sweeps over the trailing (m−k) × (n−k) block (vᵀA, the rank-1 update, then
 * A·u and its rank-1 update). Here one sweep does all of it: for each row i > k
 *   row ← row − tauq_k v_i w          (left update; w = vᵀ A was accumulated by the previous sweep)
 *   row ← row − taup_k (row · u) uᵀ   (right update, while the row is in L1)
 *   z  ← z + x_i · row[k+1:]          (x = column k+1 after both updates: the next reflector's input)
 * so that vᵀ A for step k+1 is A[k+1, k+2:] + z[1:] / (alpha − beta) and ‖x_tail‖² = z[0].
 * Cost 8/3·n³ + 4·(m−n)·n² flops (as dgebrd) with one read and one write of the trailing block per step.
 */
export function bidiagonalize(
  a: Float64Array,
  m: number,
  n: number,
  options: BidiagonalizeOptions = {},
): Bidiagonal {
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  const tauq = new Float64Array(n);
  const taup = new Float64Array(Math.max(0, n - 1));
  if (n === 0) return { d, e, tauq, taup };
  const kernel = options.kernel ?? 'auto';
  const parallel = (options.threads ?? 1) > 1 && kernel !== 'js' && m * n >= PARALLEL_MIN_ENTRIES;
  // Workspace: the matrix and w, u, z (and z2 for the helper thread), in WebAssembly memory when the SIMD
  // kernel runs the sweeps; shared memory when a helper thread takes half of each sweep's rows.
  const bytes = (m * n + 4 * n) * 8;
  const useWasm = kernel !== 'js' && (kernel === 'wasm' || m * n >= WASM_MIN_ENTRIES);
  const wasm = useWasm
    ? ((parallel ? createWasmKernels(bytes, true) : null) ?? createWasmKernels(bytes))
    : null;
  if (kernel === 'wasm' && !wasm)
    throw new Error('bidiagonalize: the WebAssembly SIMD kernel is not available here');
  const helper =
    parallel && wasm && wasm.memory.buffer instanceof SharedArrayBuffer ? createSweepHelper(wasm) : null;
  let A = a;
  let w: Float64Array; // vᵀ A[k:, k+1:] for the current left reflector, (n − k − 1)
  let u: Float64Array; // current right reflector over columns k+1…n−1, (n − k − 1)
  let z: Float64Array; // Σ_{i ≥ c+1} a[i][c] · a[i][c:], c = next reflector's column, (n − c)
  let sweep: (k: number, tq: number, tp: number) => void;
  if (wasm) {
    const buf = wasm.memory.buffer;
    A = new Float64Array(buf, 0, m * n);
    A.set(a);
    w = new Float64Array(buf, m * n * 8, n);
    u = new Float64Array(buf, (m * n + n) * 8, n);
    z = new Float64Array(buf, (m * n + 2 * n) * 8, n);
    const z2 = new Float64Array(buf, (m * n + 3 * n) * 8, n); // the helper's z
    const f = wasm.sweep;
    sweep = (k, tq, tp) => {
      const R = m - k - 1; // rows k+1…m−1
      const L = n - k - 1;
      if (!helper || R < 4 || R * L < PARALLEL_MIN_STEP) {
        f(0, n, k, m, w.byteOffset, u.byteOffset, z.byteOffset, tq, tp);
        return;
      }
      // This thread: rows k+1…mid−1; the helper: rows mid…m−1, run as a sweep of a matrix that starts
      // `shift` rows further on. The helper treats row mid as the first row (no z contribution), so that
      // contribution, xi · row_mid with xi = the updated a[mid][k+1], is added here afterwards.
      const mid = k + 1 + Math.ceil(R / 2);
      const shift = mid - k - 1;
      z2.fill(0, 0, L);
      helper.start(shift * n * 8, n, k, m - shift, w.byteOffset, u.byteOffset, z2.byteOffset, tq, tp);
      f(0, n, k, mid, w.byteOffset, u.byteOffset, z.byteOffset, tq, tp);
      helper.finish();
      const base = mid * n + k + 1;
      const xi = A[base]!;
      for (let j = 0; j < L; j++) z[j] = z[j]! + z2[j]! + xi * A[base + j]!;
    };
  } else {
    w = new Float64Array(n);
    u = new Float64Array(n);
    z = new Float64Array(n);
    sweep = (k, tq, tp) => sweepRows(A, n, k, m, w, u, z, tq, tp);
  }

  // Prologue: z for column 0.
  accumulateColumn(A, m, n, 0, z);
  let tq = finishLeft(A, m, n, 0, z, w, d);
  tauq[0] = tq;

  for (let k = 0; k < n - 1; k++) {
    const L = n - k - 1; // trailing columns k+1…n−1
    const rk = k * n + k + 1;
    // Row k gets the left update (v_k = 1), then defines the right reflector.
    for (let j = 0; j < L; j++) A[rk + j] = A[rk + j]! - tq * w[j]!;
    let ss = 0;
    for (let j = 1; j < L; j++) ss += A[rk + j]! * A[rk + j]!;
    const [beta, tp, scale] = householder(A[rk]!, Math.sqrt(ss));
    e[k] = beta;
    taup[k] = tp;
    A[rk] = beta;
    u[0] = 1;
    for (let j = 1; j < L; j++) {
      const v = A[rk + j]! * scale;
      A[rk + j] = v;
      u[j] = v;
    }
    z.fill(0, 0, L);
    sweep(k, tq, tp);
    // Left reflector for column k+1 from z; its vᵀ A over columns k+2… goes to w.
    tq = finishLeft(A, m, n, k + 1, z, w, d);
    tauq[k + 1] = tq;
  }
  helper?.close();
  if (A !== a) a.set(A);
  return { d, e, tauq, taup };
}

/**
 * The fused sweep of step k over rows k+1…m−1 (see {@link bidiagonalize}); wasm-kernels.ts holds the same
 * loop as a WebAssembly SIMD kernel.
 */
function sweepRows(
  a: Float64Array,
  n: number,
  k: number,
  m: number,
  w: Float64Array,
  u: Float64Array,
  z: Float64Array,
  tq: number,
  tp: number,
): void {
  const L = n - k - 1;
  for (let i = k + 1; i < m; i++) {
    const base = i * n + k + 1;
    const lv = tq * a[i * n + k]!; // tauq_k · v_i
    let t = 0;
    for (let j = 0; j < L; j++) {
      const x = a[base + j]! - lv * w[j]!;
      a[base + j] = x;
      t += x * u[j]!;
    }
    t *= tp;
    if (i === k + 1) {
      for (let j = 0; j < L; j++) a[base + j] = a[base + j]! - t * u[j]!;
    } else {
      const xi = a[base]! - t; // u[0] = 1: the updated column-(k+1) entry
      for (let j = 0; j < L; j++) {
        const x = a[base + j]! - t * u[j]!;
        a[base + j] = x;
        z[j] = z[j]! + xi * x;
      }
    }
  }
}

/** z[j] = Σ_{i > c} a[i][c] · a[i][c + j] for j = 0…n−c−1 (a plain sweep, used for column 0 only). */
function accumulateColumn(a: Float64Array, m: number, n: number, c: number, z: Float64Array): void {
  const L = n - c;
  z.fill(0, 0, L);
  for (let i = c + 1; i < m; i++) {
    const base = i * n + c;
    const xi = a[base]!;
    if (xi === 0) continue;
    for (let j = 0; j < L; j++) z[j] = z[j]! + xi * a[base + j]!;
  }
}

/**
 * Builds the left reflector of column c from z (see {@link accumulateColumn}): stores v's tail in the column,
 * sets d[c] = beta, writes vᵀ A[c:, c+1:] into w (n − c − 1 entries) and returns tau.
 */
function finishLeft(
  a: Float64Array,
  m: number,
  n: number,
  c: number,
  z: Float64Array,
  w: Float64Array,
  d: Float64Array,
): number {
  const diag = c * n + c;
  const [beta, tau, scale] = householder(a[diag]!, Math.sqrt(Math.max(0, z[0]!)));
  d[c] = beta;
  a[diag] = beta;
  for (let i = c + 1; i < m; i++) a[i * n + c] = a[i * n + c]! * scale;
  const L = n - c - 1;
  for (let j = 0; j < L; j++) w[j] = a[diag + 1 + j]! + scale * z[j + 1]!;
  return tau;
}

/**
 * Forms the thin Q (m × n, row-major) from the left reflectors left in `a` by {@link bidiagonalize},
 * by backward accumulation Q = H_0 (H_1 (⋯ (H_{n−1} [I; 0]))), each H_k touching only Q[k:, k:].
 */
export function formQ(a: Float64Array, m: number, n: number, tauq: Float64Array): Float64Array {
  const q = new Float64Array(m * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  const w = new Float64Array(n);
  for (let k = n - 1; k >= 0; k--) {
    const tau = tauq[k]!;
    if (tau === 0) continue;
    const L = n - k;
    // w = vᵀ Q[k:, k:], v = [1, a[k+1][k], …]
    for (let j = 0; j < L; j++) w[j] = q[k * n + k + j]!;
    for (let i = k + 1; i < m; i++) {
      const vi = a[i * n + k]!;
      if (vi === 0) continue;
      const base = i * n + k;
      for (let j = 0; j < L; j++) w[j] = w[j]! + vi * q[base + j]!;
    }
    for (let j = 0; j < L; j++) q[k * n + k + j] = q[k * n + k + j]! - tau * w[j]!;
    for (let i = k + 1; i < m; i++) {
      const s = tau * a[i * n + k]!;
      if (s === 0) continue;
      const base = i * n + k;
      for (let j = 0; j < L; j++) q[base + j] = q[base + j]! - s * w[j]!;
    }
  }
  return q;
}

/**
 * Forms P (n × n, row-major) from the right reflectors left in `a` by {@link bidiagonalize}:
 * P = G_0 (G_1 (⋯ G_{n−2})), G_k touching only P[k+1:, k+1:]. A = Q B Pᵀ.
 */
export function formP(a: Float64Array, n: number, taup: Float64Array): Float64Array {
  const p = new Float64Array(n * n);
  for (let i = 0; i < n; i++) p[i * n + i] = 1;
  const w = new Float64Array(n);
  for (let k = n - 2; k >= 0; k--) {
    const tau = taup[k]!;
    if (tau === 0) continue;
    const c = k + 1; // G_k acts on coordinates c…n−1; u = [1, a[k][k+2], …, a[k][n−1]]
    const L = n - c;
    for (let j = 0; j < L; j++) w[j] = p[c * n + c + j]!;
    for (let i = c + 1; i < n; i++) {
      const ui = a[k * n + i]!;
      if (ui === 0) continue;
      const base = i * n + c;
      for (let j = 0; j < L; j++) w[j] = w[j]! + ui * p[base + j]!;
    }
    for (let j = 0; j < L; j++) p[c * n + c + j] = p[c * n + c + j]! - tau * w[j]!;
    for (let i = c + 1; i < n; i++) {
      const s = tau * a[k * n + i]!;
      if (s === 0) continue;
      const base = i * n + c;
      for (let j = 0; j < L; j++) p[base + j] = p[base + j]! - s * w[j]!;
    }
  }
  return p;
}
