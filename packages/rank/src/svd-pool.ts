// Runs svd() off the main thread on a small pool of worker_threads, so that a server or CLI stays
// responsive while 4096 × 4096 matrices are decomposed, and independent matrices run in parallel.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ConvergenceError, DataError, ShapeError } from './errors.js';
import { checkMatrix, type Matrix } from './matrix.js';
import { type SvdOptions, type SvdResult, svd } from './svd.js';
import type { SvdReply, SvdRequest } from './svd-worker.js';

/** Matrices with fewer entries than this are decomposed inline by {@link svdAsync} (a worker costs ~10-100 ms to start). */
export const DEFAULT_OFFLOAD_THRESHOLD = 128 * 128;

interface Job {
  req: SvdRequest;
  resolve: (r: SvdResult) => void;
  reject: (e: Error) => void;
}

/**
 * Starts the worker script: the compiled `svd-worker.js` next to this file, or, when running from the
 * TypeScript sources (tests, `tsx`), `svd-worker.ts` behind tsx's ESM loader registered inside the worker.
 */
function startWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./svd-worker.js', here));
  const target = JSON.stringify(new URL('./svd-worker.ts', here).href);
  // tsx resolved from this package, not from the worker's eval context (the process's cwd, maybe outside the repo)
  const tsxApi = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const boot = `import(${tsxApi}).then((api) => { api.register(); return import(${target}); });`;
  return new Worker(boot, { eval: true });
}

function rebuildError(e: { name: string; message: string }): Error {
  switch (e.name) {
    case 'ConvergenceError':
      return new ConvergenceError(e.message, 'svd-worker');
    case 'DataError':
      return new DataError(e.message);
    case 'ShapeError':
      return new ShapeError(e.message, '(see message)', '(see message)');
    default:
      return new Error(`${e.name}: ${e.message}`);
  }
}

/** A fixed set of worker threads running {@link svd}; jobs queue when all are busy. Call `close()` when done. */
export class SvdWorkerPool {
  readonly size: number;
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly running = new Map<Worker, Job>();
  private nextId = 0;
  private closed = false;

  /** `size` workers (default: the available parallelism, at most 4). */
  constructor(size = Math.min(4, availableParallelism())) {
    if (!(Number.isInteger(size) && size >= 1))
      throw new RangeError(`SvdWorkerPool size must be a positive integer, found ${size}`);
    this.size = size;
  }

  private spawn(): Worker {
    const w = startWorker();
    w.on('message', (reply: SvdReply) => {
      const job = this.running.get(w);
      this.running.delete(w);
      this.idle.push(w);
      if (job) {
        if ('error' in reply) job.reject(rebuildError(reply.error));
        else {
          const { rows, cols } = job.req;
          const k = Math.min(rows, cols);
          // (u and vt come back only when computed)
          job.resolve({
            s: reply.s,
            ...(reply.u ? { u: { rows, cols: k, data: reply.u } } : {}),
            ...(reply.vt ? { vt: { rows: k, cols, data: reply.vt } } : {}),
          });
        }
      }
      this.pump();
    });
    w.on('error', (err) => {
      const job = this.running.get(w);
      this.running.delete(w);
      const i = this.all.indexOf(w);
      if (i >= 0) this.all.splice(i, 1);
      job?.reject(new Error(`svd worker failed: ${err.message}`, { cause: err }));
      this.pump();
    });
    w.on('exit', (code) => {
      // A worker that exits on its own (out of memory, process.exit) must not leave its job hanging.
      const job = this.running.get(w);
      this.running.delete(w);
      const i = this.all.indexOf(w);
      if (i >= 0) this.all.splice(i, 1);
      const j = this.idle.indexOf(w);
      if (j >= 0) this.idle.splice(j, 1);
      job?.reject(new Error(`svd worker exited with code ${code} before finishing`));
      if (!this.closed) this.pump();
    });
    this.all.push(w);
    return w;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let w = this.idle.pop();
      if (!w && this.all.length < this.size) w = this.spawn();
      if (!w) return;
      const job = this.queue.shift()!;
      this.running.set(w, job);
      w.postMessage(job.req);
    }
  }

  /** The SVD of `a` on a worker (the matrix is copied to it; the result is transferred back). */
  svd(a: Matrix, options: SvdOptions = {}): Promise<SvdResult> {
    if (this.closed) return Promise.reject(new Error('SvdWorkerPool is closed'));
    checkMatrix(a);
    return new Promise((resolve, reject) => {
      const req: SvdRequest = {
        id: this.nextId++,
        rows: a.rows,
        cols: a.cols,
        data: a.data,
        vectors: options.vectors ?? false,
      };
      this.queue.push({ req, resolve, reject });
      this.pump();
    });
  }

  /** Stops every worker; pending jobs are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('SvdWorkerPool closed before the job ran'));
    await Promise.all(this.all.map((w) => w.terminate()));
    this.all.length = 0;
    this.idle.length = 0;
  }
}

/** Options of {@link svdAsync}. */
export interface SvdAsyncOptions extends SvdOptions {
  /** Matrices with at least this many entries go to a worker thread; smaller ones run inline. Default 16384. */
  offloadThreshold?: number;
}

/** {@link svd} off the main thread for large matrices (a one-off worker), inline for small ones. */
export async function svdAsync(a: Matrix, options: SvdAsyncOptions = {}): Promise<SvdResult> {
  const threshold = options.offloadThreshold ?? DEFAULT_OFFLOAD_THRESHOLD;
  if (a.rows * a.cols < threshold) return svd(a, options);
  const pool = new SvdWorkerPool(1);
  try {
    return await pool.svd(a, options);
  } finally {
    await pool.close();
  }
}
