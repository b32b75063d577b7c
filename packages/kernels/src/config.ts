// Configuration of the native kernels: whether to load them, the OpenBLAS core type and thread counts.
import { ConfigError } from './errors.js';

export interface KernelsConfig {
  /** 'auto' (default): load the addon when it is built, else fall back quietly; 'on': fail if it cannot load;
   * 'off': never load it. The environment variable LORALAB_KERNELS=off|on|auto overrides this field. */
  mode: 'auto' | 'on' | 'off';
  /** OpenBLAS core type, applied as OPENBLAS_CORETYPE before the library initialises (it is read once, at load).
   * 'auto' (default): keep OPENBLAS_CORETYPE when set, else pick from the CPU flags ('SkylakeX' with AVX-512
   * F/BW/VL/DQ, 'Haswell' with AVX2 + FMA), because Debian's OpenBLAS 0.3.21 may not recognise recent CPUs and
   * then runs generic kernels; 'library': let OpenBLAS detect; any other string is passed through. */
  coreType: string;
  /** How idle worker threads wait, applied before the libraries load when the variables are unset.
   * 'passive' (default): OMP_WAIT_POLICY=passive and OPENBLAS_THREAD_TIMEOUT=4, so OpenMP and OpenBLAS workers sleep
   * instead of spinning between kernels; on a 2-core machine their spinning starves the thread doing the next op
   * (measured: a training step 2x slower). 'library': leave both libraries' defaults (spin). */
  threadWait: 'passive' | 'library';
  /** OpenBLAS threads; 0 (default) keeps the library's choice (all cores, or OPENBLAS_NUM_THREADS). */
  blasThreads: number;
  /** Threads of the fused kernels (OpenMP); 0 (default) uses all cores (or OMP_NUM_THREADS). */
  fusedThreads: number;
  /** Name the TensorFlow.js backend is registered under. Default 'loralab-native'. */
  backendName: string;
  /** Backend priority for tf's automatic choice; default 1 (below wasm's 2: the model package chooses). */
  priority: number;
  /** Print the one-line notice when the addon is unavailable (default true). */
  notice: boolean;
  /** MiB of freed kernel output buffers the backend keeps for reuse (default 1024; 0: every output is a fresh,
   * zeroed allocation). Reuse saves the page faults of fresh memory; the kept buffers stay in the process's RSS. */
  bufferPoolMiB: number;
}

export const DEFAULT_KERNELS_CONFIG: Readonly<KernelsConfig> = Object.freeze({
  mode: 'auto',
  coreType: 'auto',
  threadWait: 'passive',
  blasThreads: 0,
  fusedThreads: 0,
  backendName: 'loralab-native',
  priority: 1,
  notice: true,
  bufferPoolMiB: 1024,
});

/** Fills defaults, rejects unknown keys and invalid values, and applies LORALAB_KERNELS from `env`. */
export function resolveKernelsConfig(
  config: Partial<KernelsConfig> = {},
  env: Record<string, string | undefined> = process.env,
): KernelsConfig {
  for (const key of Object.keys(config)) {
    if (!(key in DEFAULT_KERNELS_CONFIG)) {
      throw new ConfigError(
        `unknown KernelsConfig key '${key}' (expected one of ${Object.keys(DEFAULT_KERNELS_CONFIG).join(', ')})`,
        key,
      );
    }
  }
  const c: KernelsConfig = { ...DEFAULT_KERNELS_CONFIG, ...config };
  const fromEnv = env.LORALAB_KERNELS?.trim().toLowerCase();
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv !== 'auto' && fromEnv !== 'on' && fromEnv !== 'off') {
      throw new ConfigError(
        `LORALAB_KERNELS must be 'auto', 'on' or 'off', found '${env.LORALAB_KERNELS}'`,
        'mode',
      );
    }
    c.mode = fromEnv;
  }
  if (c.mode !== 'auto' && c.mode !== 'on' && c.mode !== 'off') {
    throw new ConfigError(
      `KernelsConfig.mode must be 'auto', 'on' or 'off', found '${String(c.mode)}'`,
      'mode',
    );
  }
  for (const key of ['blasThreads', 'fusedThreads', 'bufferPoolMiB'] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 0) {
      throw new ConfigError(`KernelsConfig.${key} must be an integer >= 0, found ${c[key]}`, key);
    }
  }
  if (c.threadWait !== 'passive' && c.threadWait !== 'library') {
    throw new ConfigError(
      `KernelsConfig.threadWait must be 'passive' or 'library', found '${String(c.threadWait)}'`,
      'threadWait',
    );
  }
  if (typeof c.coreType !== 'string' || !/^[A-Za-z0-9]+$/.test(c.coreType)) {
    throw new ConfigError(`KernelsConfig.coreType must be a word such as 'auto' or 'SkylakeX'`, 'coreType');
  }
  if (c.backendName === '' || c.backendName === 'cpu' || c.backendName === 'wasm') {
    throw new ConfigError(
      `KernelsConfig.backendName must be a new name, found '${c.backendName}'`,
      'backendName',
    );
  }
  if (!Number.isFinite(c.priority)) {
    throw new ConfigError(`KernelsConfig.priority must be a number, found ${c.priority}`, 'priority');
  }
  return c;
}
