// Who runs the SVDs of an analysis: this package's own WebAssembly SVD (worker threads or the calling thread), or a
// provider passed in, such as LAPACK's dgesdd from @loralab/kernels' native addon (`createLapackSvd()`). rank may not
// import kernels (docs/architecture.md: rank depends on model and lora only), so the caller that knows both (the cli,
// a script) injects it; LORALAB_RANK_SVD=wasm forces this package's own SVD even then.
import { ConfigError, DataError } from './errors.js';
import type { Matrix } from './matrix.js';
import { type SvdOptions, type SvdResult, svd } from './svd.js';
import { SvdWorkerPool } from './svd-pool.js';

/** Runs SVDs asynchronously. `@loralab/kernels`' `createLapackSvd()` returns one of this shape. */
export interface SvdProvider {
  /** For logs and the report: `'wasm'` (this package), `'lapack'` (kernels), ... */
  readonly name: string;
  /** SVDs it runs at once; an analysis keeps this many matrices in flight. */
  readonly concurrency: number;
  /**
   * SVD of `a`: values only by default; thin U and Vᵀ with `vectors: true`, U only with `'left'`; `s` descending
   * in Float64, as {@link svd}.
   */
  svd(a: Matrix, options?: { vectors?: boolean | 'left' }): Promise<SvdResult>;
  /** Releases threads; called by the analysis only for a provider it created itself. */
  close?(): Promise<void>;
}

/** What LORALAB_RANK_SVD selects: `auto` (default) the injected provider when there is one, else wasm. */
export type SvdSelection = 'auto' | 'native' | 'wasm';

/** Reads LORALAB_RANK_SVD (`auto`, `native` or `wasm`; unset or empty is `auto`). */
export function svdSelection(env: Record<string, string | undefined> = process.env): SvdSelection {
  const v = (env.LORALAB_RANK_SVD ?? '').trim().toLowerCase();
  if (v === '' || v === 'auto') return 'auto';
  if (v === 'native' || v === 'wasm') return v;
  throw new ConfigError(`must be auto, native or wasm, found '${env.LORALAB_RANK_SVD}'`, 'LORALAB_RANK_SVD');
}

/**
 * This package's SVD as a provider: on a pool of `workers` worker threads (concurrency = workers), or on the calling
 * thread with `workers: 0` (concurrency 1).
 */
export function createWasmSvd(workers = 1): SvdProvider {
  if (!(Number.isInteger(workers) && workers >= 0))
    throw new ConfigError(`must be an integer >= 0, found ${workers}`, 'workers');
  if (workers === 0) {
    return { name: 'wasm', concurrency: 1, svd: async (a, o = {}) => svd(a, o) };
  }
  const pool = new SvdWorkerPool(workers);
  return {
    name: 'wasm',
    concurrency: workers,
    svd: (a, o = {}) => pool.svd(a, o),
    close: () => pool.close(),
  };
}

/**
 * The provider an analysis uses: `injected` unless LORALAB_RANK_SVD=wasm (or there is none), else a wasm one with
 * `workers` threads. `owned` says whether the caller must close it. LORALAB_RANK_SVD=native without a provider is a
 * ConfigError (the native addon of @loralab/kernels is not built, or nobody passed its provider).
 */
export function chooseSvdProvider(
  injected: SvdProvider | null | undefined,
  workers: number,
  env: Record<string, string | undefined> = process.env,
): { provider: SvdProvider; owned: boolean } {
  const selection = svdSelection(env);
  if (selection === 'native' && !injected) {
    throw new ConfigError(
      'native SVD asked for but no native provider was given (build @loralab/kernels with libopenblas-dev and pass its createLapackSvd(), or unset it)',
      'LORALAB_RANK_SVD',
    );
  }
  if (injected && selection !== 'wasm') return { provider: withFiniteCheck(injected), owned: false };
  return { provider: createWasmSvd(workers), owned: true };
}

/** Rejects non-finite input with this package's DataError before it reaches a provider (LAPACK may loop on NaN). */
function withFiniteCheck(p: SvdProvider): SvdProvider {
  return {
    name: p.name,
    concurrency: p.concurrency,
    svd: async (a: Matrix, options: SvdOptions = {}) => {
      const { data, cols } = a;
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i]!)) {
          throw new DataError(
            `svd: the matrix has a non-finite entry ${data[i]} at row ${Math.floor(i / cols)}, column ${i % cols}`,
          );
        }
      }
      return p.svd(a, { vectors: options.vectors ?? false });
    },
  };
}

/** Runs `fn` over `items` with at most `limit` calls pending at once; results in input order. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false; // after a failure no lane starts another item
  const lane = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return out;
}
