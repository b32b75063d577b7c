// The SVD of dense Float64 matrices through the addon's LAPACK dgesdd (native/svd.cc), off the JavaScript thread:
// an SVD provider for @loralab/rank (its `SvdProvider` shape), which runs its own WebAssembly SVD without one.
import { availableParallelism } from 'node:os';
import { type KernelsReport, loadAddon, type NativeAddon } from './addon.js';
import { type KernelsConfig, resolveKernelsConfig } from './config.js';
import { ConfigError, ShapeError } from './errors.js';

/** A dense row-major matrix (element (i, j) at `data[i * cols + j]`), as @loralab/rank's `Matrix`. */
export interface DenseMatrix {
  rows: number;
  cols: number;
  data: Float32Array | Float64Array;
}

/** A thin SVD A = U diag(s) Vᵀ: `s` descending (k = min(rows, cols)), U (rows × k) and Vᵀ (k × cols) when asked. */
export interface LapackSvdResult {
  s: Float64Array;
  u?: { rows: number; cols: number; data: Float64Array };
  vt?: { rows: number; cols: number; data: Float64Array };
}

/** Options of {@link createLapackSvd}. */
export interface LapackSvdOptions {
  /**
   * SVDs running at once, each on its own libuv thread (keep it below UV_THREADPOOL_SIZE, default 4, so that file
   * reads are not starved). Default: 2 when the machine has at least 2 cores, else 1 (see `blasThreads`).
   */
  concurrency?: number;
  /**
   * OpenBLAS threads inside each SVD, set process-wide when the provider is created (OpenBLAS has one global
   * setting; `close()` restores the previous count, so training in the same process gets its threads back). Default: availableParallelism() / concurrency, at least 1. Measured on 2 cores
   * (tools/bench/rank-model.ts --svd lapack): two single-threaded SVDs at once beat one two-threaded SVD at a time.
   */
  blasThreads?: number;
  /** Loader settings of the addon (core type, thread wait policy); see KernelsConfig. */
  config?: Partial<KernelsConfig>;
}

/** The provider: `svd()` queues a matrix, at most `concurrency` run at once. */
export interface LapackSvd {
  readonly name: 'lapack';
  readonly concurrency: number;
  readonly blasThreads: number;
  /** What was loaded: OpenBLAS core type and configuration (for logs and benchmark headers). */
  readonly report: KernelsReport;
  /**
   * SVD of `a` (Float32 or Float64, copied to Float64 when the job starts): values only by default (dgesdd
   * jobz = 'N'), thin U and Vᵀ with `vectors: true` (jobz = 'S'), U alone with `'left'` (Vᵀ computed and dropped).
   * A non-finite entry rejects with a RangeError naming its row and column.
   */
  svd(a: DenseMatrix, options?: { vectors?: boolean | 'left' }): Promise<LapackSvdResult>;
  /**
   * Rejects the queued jobs, waits for the running ones (a native call cannot be interrupted) and restores the
   * OpenBLAS thread count found at creation.
   */
  close(): Promise<void>;
}

interface Job {
  a: DenseMatrix;
  vectors: boolean | 'left';
  resolve: (r: LapackSvdResult) => void;
  reject: (e: Error) => void;
}

/**
 * The LAPACK SVD provider when the addon is built and loads and its BLAS has LAPACK, else null (LORALAB_KERNELS=off,
 * no addon, or an OpenBLAS built without LAPACK: then the caller keeps its own SVD). Sets OpenBLAS's thread count process-wide (see `blasThreads`).
 */
export function createLapackSvd(options: LapackSvdOptions = {}): LapackSvd | null {
  const { addon, report } = loadAddon(resolveKernelsConfig({ notice: false, ...options.config }));
  if (!addon?.hasLapack()) return null;
  const cores = availableParallelism();
  const concurrency = options.concurrency ?? (cores >= 2 ? 2 : 1);
  if (!(Number.isInteger(concurrency) && concurrency >= 1))
    throw new ConfigError(`concurrency must be a positive integer, found ${concurrency}`, 'concurrency');
  const blasThreads = options.blasThreads ?? Math.max(1, Math.floor(cores / concurrency));
  if (!(Number.isInteger(blasThreads) && blasThreads >= 1))
    throw new ConfigError(`blasThreads must be a positive integer, found ${blasThreads}`, 'blasThreads');
  const before = addon.info();
  addon.setThreads(blasThreads, before.fusedThreads);
  return new LapackSvdQueue(addon, concurrency, blasThreads, { ...report, blasThreads }, before.blasThreads);
}

class LapackSvdQueue implements LapackSvd {
  readonly name = 'lapack' as const;
  private readonly queue: Job[] = [];
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly addon: NativeAddon,
    readonly concurrency: number,
    readonly blasThreads: number,
    readonly report: KernelsReport,
    private readonly previousBlasThreads: number,
  ) {}

  svd(a: DenseMatrix, options: { vectors?: boolean | 'left' } = {}): Promise<LapackSvdResult> {
    if (this.closed) return Promise.reject(new Error('LapackSvd is closed'));
    checkDense(a);
    return new Promise((resolve, reject) => {
      this.queue.push({ a, vectors: options.vectors ?? false, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running.size < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      const p = this.run(job).finally(() => {
        this.running.delete(p);
        this.pump();
      });
      this.running.add(p);
    }
  }

  private async run(job: Job): Promise<void> {
    const { rows, cols } = job.a;
    const k = Math.min(rows, cols);
    try {
      if (k === 0) {
        job.resolve(emptyResult(rows, cols, job.vectors));
        return;
      }
      const s = new Float64Array(k);
      const u = job.vectors ? new Float64Array(rows * k) : null;
      const vt = job.vectors === true ? new Float64Array(k * cols) : null;
      // u (rows × k) alone for 'left': dgesdd still forms Vᵀ, in native scratch memory.
      await this.addon.dgesdd(job.a.data, rows, cols, s, u, vt);
      job.resolve({
        s,
        ...(u ? { u: { rows, cols: k, data: u } } : {}),
        ...(vt ? { vt: { rows: k, cols, data: vt } } : {}),
      });
    } catch (e) {
      job.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('LapackSvd closed before the job ran'));
    await Promise.all(this.running);
    if (this.previousBlasThreads > 0)
      this.addon.setThreads(this.previousBlasThreads, this.addon.info().fusedThreads);
  }
}

function checkDense(a: DenseMatrix): void {
  if (!(Number.isInteger(a.rows) && Number.isInteger(a.cols) && a.rows >= 0 && a.cols >= 0))
    throw new ShapeError(
      'invalid matrix shape',
      'dgesdd',
      'non-negative integer rows and cols',
      `[${a.rows}, ${a.cols}]`,
    );
  if (a.data.length !== a.rows * a.cols)
    throw new ShapeError(
      'matrix data length does not match its shape',
      'dgesdd',
      `${a.rows * a.cols}`,
      `${a.data.length}`,
    );
}

function emptyResult(rows: number, cols: number, vectors: boolean | 'left'): LapackSvdResult {
  const s = new Float64Array(0);
  if (!vectors) return { s };
  const u = { rows, cols: 0, data: new Float64Array(0) };
  return vectors === true ? { s, u, vt: { rows: 0, cols, data: new Float64Array(0) } } : { s, u };
}
