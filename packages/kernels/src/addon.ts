// Loads the compiled N-API addon (build/Release/loralab_kernels.node) once per process, after setting the
// OpenBLAS core type in the environment: OpenBLAS reads OPENBLAS_CORETYPE when the library initialises, which
// happens when the addon (linked against it) is loaded.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { KernelsConfig } from './config.js';

/** The functions the addon exports (native/addon.cc). Arrays are used in place; outputs are preallocated. */
/** Batched op(a)·op(b) with broadcast batch indices: c = alpha · op(a) op(b) + beta · c (alpha 1, beta 0 by default). */
type Gemm = (
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  batch: number,
  aIdx: Int32Array,
  bIdx: Int32Array,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  alpha?: number,
  beta?: number,
) => void;

export interface NativeAddon {
  info(): {
    corename: string;
    config: string;
    blasThreads: number;
    numProcs: number;
    parallel: number;
    fusedThreads: number;
    /** Absent from an addon built before bf16 products existed. */
    bf16Supported?: boolean;
    matmulPrecision?: 'fp32' | 'bf16';
  };
  setThreads(blas: number, fused: number): void;
  /** In the matmul precision: see setMatmulPrecision. */
  sgemm: Gemm;
  /** sgemm's contract with A and B rounded to bf16 and fp32 sums (fp32 sgemm without AVX-512 BF16); absent from an
   * addon built before it existed, as the two below. */
  bf16gemm?: Gemm;
  /** Whether the CPU runs AVX-512 BF16 (checked at run time). */
  bf16Supported?(): boolean;
  /** Every product of the kernels (sgemm included) in bf16 (true) or fp32; returns whether bf16 is now in effect. */
  setMatmulPrecision?(bf16: boolean): boolean;
  transpose(x: Float32Array, y: Float32Array, shape: Int32Array, perm: Int32Array): void;
  rmsnormForward(
    x: Float32Array,
    w: Float32Array,
    y: Float32Array,
    rstd: Float32Array,
    rows: number,
    d: number,
    eps: number,
  ): void;
  rmsnormBackward(
    dy: Float32Array,
    x: Float32Array,
    w: Float32Array,
    rstd: Float32Array,
    dx: Float32Array,
    dw: Float32Array,
    rows: number,
    d: number,
  ): void;
  add(a: Float32Array, b: Float32Array, y: Float32Array, n: number): void;
  /** y = a op b (BinaryOp code); na, nb: n, 1 (scalar) or a period dividing n (see native/kernels.h). */
  binary(
    op: number,
    a: Float32Array,
    na: number,
    b: Float32Array,
    nb: number,
    y: Float32Array,
    n: number,
  ): void;
  /** y = op(x) (UnaryOp code). */
  unary(op: number, x: Float32Array, y: Float32Array, n: number): void;
  /** y (rows) = row sums of x (rows, cols). */
  sumRows(x: Float32Array, rows: number, cols: number, y: Float32Array): void;
  /** y (cols) = column sums of x (rows, cols). */
  sumCols(x: Float32Array, rows: number, cols: number, y: Float32Array): void;
  /** y = row-wise softmax of x (rows, cols). */
  softmaxRows(x: Float32Array, y: Float32Array, rows: number, cols: number): void;
  swigluForward(g: Float32Array, u: Float32Array, y: Float32Array, n: number): void;
  swigluBackward(
    dy: Float32Array,
    g: Float32Array,
    u: Float32Array,
    dg: Float32Array,
    du: Float32Array,
    n: number,
  ): void;
  rope(
    x: Float32Array,
    cos: Float32Array,
    sin: Float32Array,
    y: Float32Array,
    B: number,
    H: number,
    T: number,
    hd: number,
    Bc: number,
    inverse: boolean,
    /** x is (B, T, H, hd) instead of (B, H, T, hd) */
    seqMajor?: boolean,
  ): void;
  attentionForward(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    o: Float32Array,
    lse: Float32Array,
    B: number,
    nh: number,
    nkv: number,
    T: number,
    hs: number,
    scale: number,
    /** q, k, v, o are (B, T, heads, hs) instead of (B, heads, T, hs) */
    seqMajor?: boolean,
    /** (B, T): 0 for a padding key (excluded), nonzero for a real one */
    keyMask?: Float32Array | null,
  ): void;
  /** One token per row of logits (B, V) with the row's draw u[b]; absent from an addon built before it existed. */
  sampleRows?(
    logits: Float32Array,
    u: Float64Array,
    out: Int32Array,
    B: number,
    V: number,
    temperature: number,
    topK: number,
    topP: number,
  ): void;
  /** Absent from an addon built before it existed: the kernel is then not registered. */
  attentionCached?(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    o: Float32Array,
    B: number,
    nh: number,
    nkv: number,
    Tq: number,
    Tk: number,
    C: number,
    hs: number,
    scale: number,
    keyMask: Float32Array | null,
  ): void;
  attentionBackward(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    o: Float32Array,
    lse: Float32Array,
    dout: Float32Array,
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    B: number,
    nh: number,
    nkv: number,
    T: number,
    hs: number,
    scale: number,
    seqMajor?: boolean,
    keyMask?: Float32Array | null,
  ): void;
  crossEntropyForward(
    logits: Float32Array,
    labels: Int32Array,
    loss: Float32Array,
    lse: Float32Array,
    rows: number,
    V: number,
    ignore: number,
  ): number;
  crossEntropyBackward(
    logits: Float32Array,
    labels: Int32Array,
    lse: Float32Array,
    scale: Float32Array,
    dlogits: Float32Array,
    rows: number,
    V: number,
    ignore: number,
  ): void;
  /** lm_head + cross-entropy in row chunks; dh/dW (null: not wanted) get the gradient of Σ scale·loss. */
  linearCrossEntropy(
    h: Float32Array,
    weight: Float32Array,
    labels: Int32Array,
    loss: Float32Array,
    dh: Float32Array | null,
    dW: Float32Array | null,
    rows: number,
    d: number,
    V: number,
    ignore: number,
    scale: number,
    chunk: number,
  ): number;
  /**
   * The adapter's products of a LoRA linear's backward pass in one pass over row blocks (native/lora.cc): t (null:
   * computed as x Aᵀ), u = dy B (written when given), dA = s · uᵀ x, dB = s · dyᵀ t. 1 ≤ r ≤ 64. Absent from addons
   * built before it existed (the products then run on the BLAS).
   */
  loraAdapterGrad?(
    x: Float32Array,
    dy: Float32Array,
    a: Float32Array,
    b: Float32Array,
    t: Float32Array | null,
    u: Float32Array | null,
    dA: Float32Array,
    dB: Float32Array,
    n: number,
    inp: number,
    out: number,
    r: number,
    scaling: number,
  ): void;
  /**
   * y = x / (1 − rate) or 0 per element, the mask a hash of (seed, index) (native/elementwise.cc). Absent from addons
   * built before it existed (dropout then stays tfjs's).
   */
  dropout?(
    x: Float32Array,
    y: Float32Array,
    n: number,
    rate: number,
    seedLow: number,
    seedHigh: number,
  ): void;
  /** Whether the linked BLAS exports LAPACK's dgesdd_ (Debian's OpenBLAS does; a build without LAPACK does not). */
  hasLapack(): boolean;
  /**
   * LAPACK dgesdd on a libuv thread (native/svd.cc): a (rows × cols, row-major, Float32 or Float64; copied before it
   * returns) → s (k = min(rows, cols)), and U (rows × k) / Vᵀ (k × cols) when given (then jobz = 'S', else 'N').
   * The output arrays must not be touched until the promise settles.
   */
  dgesdd(
    a: Float32Array | Float64Array,
    rows: number,
    cols: number,
    s: Float64Array,
    u: Float64Array | null,
    vt: Float64Array | null,
  ): Promise<void>;
  /** fp32 GFLOP/s of a register-only FMA loop on every fused-kernel thread: the machine's measured peak. */
  fmaPeak(iterations: number): number;
  /**
   * Asks the C allocator to return its free memory to the system (glibc's `malloc_trim`); false where the C library
   * is not glibc. Absent from addons built before it existed.
   */
  trimHeap?(): boolean;
  adamw(
    p: Float32Array,
    m: Float32Array,
    v: Float32Array,
    g: Float32Array,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
  ): void;
  lion(
    p: Float32Array,
    m: Float32Array,
    g: Float32Array,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    weightDecay: number,
  ): void;
}

/** What was loaded and which BLAS kernels run, for logs and benchmark headers. */
export interface KernelsReport {
  available: boolean;
  /** Why the addon is not in use (when `available` is false). */
  reason?: string;
  /** OPENBLAS_CORETYPE as set before loading ('' when left to the library). */
  requestedCoreType: string;
  /** OMP_WAIT_POLICY and OPENBLAS_THREAD_TIMEOUT in effect at load ('' when unset: the libraries spin). */
  threadWait?: string;
  /** Core type OpenBLAS actually selected (openblas_get_corename). */
  corename?: string;
  /** openblas_get_config(), e.g. 'OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64'. */
  blasConfig?: string;
  blasThreads?: number;
  fusedThreads?: number;
  /** Whether the CPU runs the addon's bf16 products (AVX-512 BF16). */
  bf16Supported?: boolean;
  addonPath: string;
}

export const ADDON_PATH = fileURLToPath(new URL('../build/Release/loralab_kernels.node', import.meta.url));

let loaded: { addon: NativeAddon | null; report: KernelsReport } | null = null;

/** OpenBLAS core type for this CPU from /proc/cpuinfo flags, or '' to leave the choice to the library. */
export function detectCoreType(cpuinfo?: string): string {
  let text = cpuinfo;
  if (text === undefined) {
    if (!existsSync('/proc/cpuinfo')) return '';
    text = readFileSync('/proc/cpuinfo', 'utf8');
  }
  const line = text.split('\n').find((l) => l.startsWith('flags'));
  if (line === undefined) return '';
  const flags = new Set(
    line
      .slice(line.indexOf(':') + 1)
      .trim()
      .split(/\s+/),
  );
  if (['avx512f', 'avx512bw', 'avx512vl', 'avx512dq'].every((f) => flags.has(f))) return 'SkylakeX';
  if (flags.has('avx2') && flags.has('fma')) return 'Haswell';
  return '';
}

/**
 * Environment variables the loader sets before the addon (and with it OpenBLAS and libgomp) loads, for the variables
 * not already set: the OpenBLAS core type and the thread wait policy. Exported so that a benchmark can give a
 * PyTorch comparison process the same setting.
 */
export function nativeEnvironment(
  config: KernelsConfig,
  env: Record<string, string | undefined> = process.env,
) {
  const out: Record<string, string> = {};
  if (env.OPENBLAS_CORETYPE === undefined && config.coreType !== 'library') {
    const type = config.coreType === 'auto' ? detectCoreType() : config.coreType;
    if (type !== '') out.OPENBLAS_CORETYPE = type;
  }
  if (config.threadWait === 'passive') {
    if (env.OMP_WAIT_POLICY === undefined) out.OMP_WAIT_POLICY = 'passive';
    if (env.OPENBLAS_THREAD_TIMEOUT === undefined) out.OPENBLAS_THREAD_TIMEOUT = '4'; // 2⁴ cycles, the minimum
  }
  return out;
}

/**
 * Loads the addon once (later calls return the first result). Never throws in mode 'auto' or 'off': the report
 * says why the addon is unavailable. In mode 'on' a failure throws.
 */
export function loadAddon(config: KernelsConfig): { addon: NativeAddon | null; report: KernelsReport } {
  const base = { requestedCoreType: process.env.OPENBLAS_CORETYPE ?? '', addonPath: ADDON_PATH };
  if (config.mode === 'off') {
    // Not cached: a later call may still load the addon.
    return { addon: null, report: { ...base, available: false, reason: 'disabled by LORALAB_KERNELS=off' } };
  }
  if (loaded !== null) return loaded;
  if (!existsSync(ADDON_PATH)) {
    const reason = `addon not built (${ADDON_PATH} missing; needs a C++ compiler and libopenblas-dev at install)`;
    if (config.mode === 'on') throw new Error(`@loralab/kernels: ${reason}`);
    loaded = { addon: null, report: { ...base, available: false, reason } };
    return loaded;
  }
  // Must happen before the shared libraries load: OpenBLAS and libgomp read these once, at initialisation.
  Object.assign(process.env, nativeEnvironment(config));
  const requestedCoreType = process.env.OPENBLAS_CORETYPE ?? '';
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
    addon.setThreads(config.blasThreads, config.fusedThreads);
    const info = addon.info();
    loaded = {
      addon,
      report: {
        available: true,
        requestedCoreType,
        corename: info.corename,
        blasConfig: info.config,
        blasThreads: info.blasThreads,
        fusedThreads: info.fusedThreads,
        bf16Supported: info.bf16Supported ?? false,
        threadWait: `OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY ?? ''} OPENBLAS_THREAD_TIMEOUT=${process.env.OPENBLAS_THREAD_TIMEOUT ?? ''}`,
        addonPath: ADDON_PATH,
      },
    };
  } catch (cause) {
    if (config.mode === 'on') throw new Error(`@loralab/kernels: cannot load ${ADDON_PATH}`, { cause });
    const reason = `addon failed to load: ${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)}`;
    loaded = { addon: null, report: { ...base, requestedCoreType, available: false, reason } };
  }
  return loaded;
}
