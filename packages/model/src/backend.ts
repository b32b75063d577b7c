// Tensor backend selection: `cuda` (@tensorflow/tfjs-node-gpu) and `tensorflow` (@tensorflow/tfjs-node) when
// installed (optional peer dependencies, imported dynamically), else `native` (@loralab/kernels: the OpenBLAS addon,
// when it was built and LORALAB_KERNELS is not 'off'), else `wasm` (SIMD), else the pure-JS `cpu`.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  type MatmulPrecision,
  NativeBackend,
  registerNativeBackend,
  setMatmulPrecision,
} from '@loralab/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { BackendError, ConfigError } from './errors.js';
import { registerWasmKernels } from './wasm-kernels.js';
import { withWasmThreads } from './wasm-threads.js';

/** Backends by the names loralab uses (`LORALAB_BACKEND`). */
export type BackendName = 'cuda' | 'tensorflow' | 'native' | 'wasm' | 'cpu';

/** What `initBackend` chose. */
export interface BackendInfo {
  name: BackendName;
  /** The tfjs backend name now active (`tensorflow`, `loralab-native`, `wasm`, `cpu`). */
  tfjsBackend: string;
  /**
   * Threads the backend computes with (null where libtensorflow manages its own pool; for `native`, the OpenBLAS
   * threads).
   */
  threads: number | null;
  /** Precision of the matrix products: `bf16` only on native with AVX-512 BF16 (see `BackendOptions.precision`). */
  precision: MatmulPrecision;
}

const PACKAGES: Record<BackendName, string> = {
  cuda: '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  native: '@loralab/kernels',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

/** Options of `initBackend`. */
export interface BackendOptions {
  /**
   * Threads of the wasm backend (default: env `LORALAB_WASM_THREADS`, else 1). Above 1 the threaded SIMD build is
   * started with the workarounds of `wasm-threads.ts`. Fixed once wasm has started in this process.
   */
  wasmThreads?: number;
  /**
   * Precision of the matrix products (default `fp32`). `bf16`: the native backend rounds both operands of every
   * matMul (projections, LoRA, lm_head; forward and backward) to bfloat16 and sums in fp32 (PyTorch CPU autocast to
   * bfloat16, for the matmuls only; weights, optimizer state, norms, softmax, the fused attention and loss stay fp32);
   * on a CPU without AVX-512 BF16 it warns once and stays fp32. On any other backend `bf16` is a ConfigError (they
   * have no bf16 products). Process-wide, and set by every call (a later `initBackend('native')` returns to fp32).
   */
  precision?: MatmulPrecision;
}

/** Registers and starts the native backend of @loralab/kernels; a BackendError says why it is unavailable. */
async function loadNative(): Promise<BackendInfo> {
  const { registered, backendName, report } = registerNativeBackend();
  if (!registered) {
    throw new BackendError(
      `backend 'native' is unavailable: ${report.reason} (build it with libopenblas-dev installed: npm rebuild @loralab/kernels)`,
      'native',
    );
  }
  try {
    const ok = await tf.setBackend(backendName);
    await tf.ready();
    if (!ok || tf.getBackend() !== backendName) throw new Error(`tfjs reports '${tf.getBackend()}'`);
  } catch (cause) {
    throw new BackendError(`backend 'native' failed to start: ${(cause as Error).message}`, 'native', {
      cause,
    });
  }
  return { name: 'native', tfjsBackend: backendName, threads: report.blasThreads ?? null, precision: 'fp32' };
}

async function load(name: BackendName, options: BackendOptions): Promise<BackendInfo> {
  if (name === 'native') return loadNative();
  const spec = PACKAGES[name];
  let mod: Record<string, unknown>;
  try {
    mod = (await import(spec)) as Record<string, unknown>;
  } catch (cause) {
    throw new BackendError(
      `backend '${name}' needs ${spec}, which is not installed (npm install ${spec}@4.22.0): ${(cause as Error).message}`,
      name,
      { cause },
    );
  }
  const tfjsBackend = name === 'cuda' || name === 'tensorflow' ? 'tensorflow' : name;
  if (name === 'wasm') registerWasmKernels();
  let ok = false;
  const threads = options.wasmThreads ?? Number(process.env.LORALAB_WASM_THREADS ?? 1);
  const start = async () => {
    ok = await tf.setBackend(tfjsBackend);
    await tf.ready();
  };
  try {
    if (name === 'wasm' && threads > 1 && !wasmStarted) await withWasmThreads(threads, start);
    else await start();
    if (name === 'wasm') wasmStarted = true;
  } catch (cause) {
    throw new BackendError(`backend '${name}' failed to start: ${(cause as Error).message}`, name, { cause });
  }
  if (!ok || tf.getBackend() !== tfjsBackend) {
    throw new BackendError(`backend '${name}' failed to start (tfjs reports '${tf.getBackend()}')`, name);
  }
  if (name === 'cpu') {
    // The cpu backend prints a "install the node backend" banner on first use; initBackend reports the choice instead.
    (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  }
  let used: number | null = 1;
  if (name === 'wasm') used = (mod.getThreadsCount as (() => number) | undefined)?.() ?? 1;
  else if (tfjsBackend === 'tensorflow') used = null;
  return { name, tfjsBackend, threads: used, precision: 'fp32' };
}

let wasmStarted = false;

function isBackendName(s: string): s is BackendName {
  return s === 'cuda' || s === 'tensorflow' || s === 'native' || s === 'wasm' || s === 'cpu';
}

/**
 * Selects and starts a backend. `requested` (default: env `LORALAB_BACKEND`, else `auto`) names one backend, which
 * must load or a `BackendError` says how to install it; `auto` tries cuda, tensorflow, native, wasm, cpu in that
 * order (native is skipped with one notice line when the addon is not built or LORALAB_KERNELS=off).
 */
export async function initBackend(
  requested?: BackendName | 'auto',
  options: BackendOptions = {},
): Promise<BackendInfo> {
  const precision = options.precision ?? 'fp32';
  if (precision !== 'fp32' && precision !== 'bf16') {
    throw new ConfigError(
      `precision must be 'fp32' or 'bf16', found '${String(precision)}'`,
      'precision',
      precision,
    );
  }
  const info = await start(requested, options);
  if (info.name === 'native') return { ...info, precision: setMatmulPrecision(precision) };
  if (precision === 'bf16') {
    throw new ConfigError(
      `precision 'bf16' needs the native backend (bf16 products of @loralab/kernels), and the backend is '${info.name}'; use backend 'native' (build the addon: npm rebuild @loralab/kernels) or precision 'fp32'`,
      'precision',
      precision,
    );
  }
  return info;
}

async function start(
  requested: BackendName | 'auto' | undefined,
  options: BackendOptions,
): Promise<BackendInfo> {
  const want = requested ?? process.env.LORALAB_BACKEND ?? 'auto';
  if (want !== 'auto') {
    if (!isBackendName(want)) {
      throw new BackendError(
        `unknown backend '${want}'; expected cuda, tensorflow, native, wasm, cpu or auto`,
        want,
      );
    }
    return load(want, options);
  }
  const errors: string[] = [];
  for (const name of ['cuda', 'tensorflow', 'native', 'wasm', 'cpu'] as const) {
    try {
      return await load(name, options);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  throw new BackendError(`no backend could start:\n${errors.join('\n')}`, 'auto');
}

/** Resident memory before and after `releaseBackendCaches`. */
export interface ReleasedMemory {
  rssBeforeBytes: number;
  rssAfterBytes: number;
}

let collect: (() => void) | null = null;

/**
 * A full garbage collection: `globalThis.gc` under `--expose-gc`, else the same function taken from a fresh context
 * after setting V8's `--expose-gc` flag (which only new contexts see).
 */
function collectGarbage(): void {
  if (collect === null) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') collect = exposed;
    else {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
    }
  }
  collect();
  collect(); // measured: one pass leaves about half of a trained model's freed buffers for the next
}

/**
 * Gives back the memory the active backend keeps for reuse. On native: drops the free output buffers, runs a full
 * garbage collection (the buffers' memory goes back to the C heap) and has the C heap return its free pages to the
 * system (glibc `malloc_trim`), so the process's resident memory shrinks. Worth calling before a phase with other
 * tensor shapes, and before starting many processes: a fork copies the parent's page tables, so each spawn costs
 * about 40 ms per resident GB. A no-op on the other backends.
 */
export function releaseBackendCaches(): ReleasedMemory {
  const rssBeforeBytes = process.memoryUsage().rss;
  const backend = tf.findBackend(tf.getBackend());
  if (backend instanceof NativeBackend) {
    backend.clearPool();
    collectGarbage();
    backend.addon.trimHeap?.();
  }
  return { rssBeforeBytes, rssAfterBytes: process.memoryUsage().rss };
}
