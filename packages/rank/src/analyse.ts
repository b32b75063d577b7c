// The paper's spectral analysis per layer and module (Biderman et al. 2024 §5, Figure 6): spectra of W, W′ and
// ΔW = W′ − W, rank@τ and friends, random baselines, intruder dimensions and subspace similarity.
import { type AnalysisConfig, resolveAnalysisConfig } from './analysis-config.js';
import { ConfigError } from './errors.js';
import { type IntruderReport, intruderDimensions } from './intruder-dimensions.js';
import { loraSvd } from './lora-svd.js';
import { frobeniusNorm, type Matrix, subtract } from './matrix.js';
import { loraModules, type PeftAdapterConfig, readLoraFactors } from './peft-adapter.js';
import { gaussianLike, perturbWithNoise } from './random-baselines.js';
import { type SpectrumMetrics, spectrumMetrics } from './spectrum-metrics.js';
import { subspaceSimilarity } from './subspace-similarity.js';
import { type SvdOptions, type SvdResult, svd } from './svd.js';
import { chooseSvdProvider, mapConcurrent, type SvdProvider } from './svd-provider.js';
import { checkSameShape, type ModuleName, parseModuleName, type WeightSource } from './weight-source.js';

/** Everything the report holds about one weight matrix. */
export interface MatrixAnalysis {
  /** Base checkpoint key, e.g. `model.layers.3.mlp.up_proj.weight`. */
  name: string;
  layer: number;
  module: string;
  rows: number;
  cols: number;
  /** ‖ΔW‖_F / ‖W‖_F. */
  relative_update_norm: number;
  base: SpectrumMetrics;
  finetuned: SpectrumMetrics;
  delta: SpectrumMetrics;
  /** Metrics of a Gaussian matrix of ΔW's shape and Frobenius norm (null when disabled). */
  gaussian_baseline: SpectrumMetrics | null;
  /** Metrics of W + c·G per configured c. */
  noise_baselines: { c: number; metrics: SpectrumMetrics }[];
  /** Intruder dimensions of W′ against W (null without vectors). */
  intruders: IntruderReport | null;
  /** φ(W, W′, k, k) on the top-k left singular vectors (null without vectors). */
  subspace_similarity: number | null;
  /** The singular values, descending. */
  spectra: { base: number[]; finetuned: number[]; delta: number[] };
}

/** A whole analysis: the resolved config, where the weights came from, and one entry per matrix. */
export interface AnalysisReport {
  kind: 'checkpoints' | 'adapter';
  config: AnalysisConfig;
  /** The SVD provider that ran the decompositions: `'wasm'` (this package) or an injected one (`'lapack'`). */
  svd: string;
  matrices: MatrixAnalysis[];
}

/** The base keys to analyse, in (layer, module order) order. */
function selectModules(names: string[], config: AnalysisConfig): (ModuleName & { key: string })[] {
  const order = new Map(config.modules.map((m, i) => [m, i]));
  const out: (ModuleName & { key: string })[] = [];
  for (const key of names) {
    const p = parseModuleName(key);
    if (!p || !order.has(p.module)) continue;
    if (config.layers && !config.layers.includes(p.layer)) continue;
    out.push({ ...p, key });
  }
  return out.sort((a, b) => a.layer - b.layer || order.get(a.module)! - order.get(b.module)!);
}

/** Runs one SVD: inline, or on a worker pool. */
export type SvdRunner = (a: Matrix, options: SvdOptions) => Promise<SvdResult>;

/** The main-thread runner. */
export const inlineSvd: SvdRunner = async (a, options) => svd(a, options);

/**
 * Analyses one module from W, W′ and (when known cheaply, as for a LoRA adapter) the spectrum of ΔW.
 * The decompositions (ΔW, W, W′ and the baselines) are independent and run concurrently on `runSvd`.
 * `index` offsets the seed of the random baselines.
 */
export async function analyseMatrix(
  name: string,
  w: Matrix,
  wFinetuned: Matrix,
  config: AnalysisConfig,
  options: { index?: number; deltaSpectrum?: Float64Array; runSvd?: SvdRunner } = {},
): Promise<MatrixAnalysis> {
  checkSameShape(w, wFinetuned, name);
  const parsed = parseModuleName(name);
  const { rows, cols } = w;
  const { tau } = config;
  const run = options.runSvd ?? inlineSvd;
  const values = async (a: Matrix) => (await run(a, {})).s;
  const wNorm = frobeniusNorm(w);
  const seed = config.seed + (options.index ?? 0) * 7919;
  const deltaPromise = options.deltaSpectrum
    ? Promise.resolve(options.deltaSpectrum)
    : values(subtract(wFinetuned, w));
  // Intruders and φ use left singular vectors only.
  const basePromise = run(w, { vectors: config.vectors ? 'left' : false });
  const ftPromise = run(wFinetuned, { vectors: config.vectors ? 'left' : false });
  const noisePromise = Promise.all(
    config.noise_scales.map(async (c, j) => ({
      c,
      metrics: spectrumMetrics(await values(perturbWithNoise(w, c, seed + 1 + j)), rows, cols, tau),
    })),
  );
  const ds = await deltaPromise;
  let dNorm = 0;
  for (const x of ds) dNorm += x * x;
  dNorm = Math.sqrt(dNorm);
  const gaussian = config.gaussian_baseline
    ? spectrumMetrics(await values(gaussianLike(rows, cols, dNorm, seed)), rows, cols, tau)
    : null;
  const [base, ft, noise] = await Promise.all([basePromise, ftPromise, noisePromise]);
  let intruders: IntruderReport | null = null;
  let phi: number | null = null;
  if (config.vectors && base.u && ft.u) {
    intruders = intruderDimensions(base.u, ft.u, config.intruder_k, config.intruder_epsilon);
    const k = Math.min(config.intruder_k, base.u.cols);
    phi = subspaceSimilarity(base.u, ft.u, k, k);
  }
  return {
    name,
    layer: parsed?.layer ?? -1,
    module: parsed?.module ?? name,
    rows,
    cols,
    relative_update_norm: wNorm > 0 ? dNorm / wNorm : Number.POSITIVE_INFINITY,
    base: spectrumMetrics(base.s, rows, cols, tau),
    finetuned: spectrumMetrics(ft.s, rows, cols, tau),
    delta: spectrumMetrics(ds, rows, cols, tau),
    gaussian_baseline: gaussian,
    noise_baselines: noise,
    intruders,
    subspace_similarity: phi,
    spectra: { base: Array.from(base.s), finetuned: Array.from(ft.s), delta: Array.from(ds) },
  };
}

/** Options of the analysis drivers: the config, who runs the SVDs, and a progress callback. */
export interface AnalyseOptions {
  config?: Partial<AnalysisConfig>;
  /**
   * An SVD provider to run the decompositions, e.g. `createLapackSvd()` of @loralab/kernels (LAPACK dgesdd; null
   * where the addon is not built). Without one, or with LORALAB_RANK_SVD=wasm, this package's WebAssembly SVD runs
   * on `workers` threads. The caller keeps ownership (closes it).
   */
  svd?: SvdProvider | null;
  /** Worker threads of the WebAssembly SVD (0: run on the calling thread). Default 1. Unused with a provider. */
  workers?: number;
  /**
   * Matrices (modules) analysed at once, each with its SVDs (W, W′, ΔW, baselines) in flight together. Default: the
   * provider's concurrency (the wasm pool's `workers`, at least 1). Each one in flight holds its W, W′, ΔW and
   * baselines in memory (about 6 × rows × cols × 8 bytes).
   */
  parallelMatrices?: number;
  /** Called after each matrix (for progress output); `done` counts finished matrices, which may finish out of order. */
  onMatrix?: (analysis: MatrixAnalysis, done: number, total: number) => void;
}

/**
 * Runs `analyse(item, index, runSvd)` over `items`, `parallelMatrices` at a time, on the chosen provider (closing it
 * afterwards when it was created here). Results in input order.
 */
async function analyseAll<T>(
  items: readonly T[],
  options: AnalyseOptions,
  analyse: (item: T, index: number, runSvd: SvdRunner) => Promise<MatrixAnalysis>,
): Promise<{ svd: string; matrices: MatrixAnalysis[] }> {
  const asked = options.parallelMatrices;
  if (asked !== undefined && !(Number.isInteger(asked) && asked >= 1))
    throw new ConfigError(`must be a positive integer, found ${asked}`, 'parallelMatrices');
  const { provider, owned } = chooseSvdProvider(options.svd, options.workers ?? 1);
  const parallel = asked ?? Math.max(1, provider.concurrency);
  const runSvd: SvdRunner = (a, o) => provider.svd(a, o);
  let done = 0;
  try {
    const matrices = await mapConcurrent(items, parallel, async (item, index) => {
      const a = await analyse(item, index, runSvd);
      options.onMatrix?.(a, ++done, items.length);
      return a;
    });
    return { svd: provider.name, matrices };
  } finally {
    if (owned) await provider.close?.();
  }
}

/** Base vs finetuned checkpoint (for example FFT): every selected `model.layers.N.*.<module>.weight` present in both. */
export async function analyseCheckpoints(
  base: WeightSource,
  finetuned: WeightSource,
  options: AnalyseOptions = {},
): Promise<AnalysisReport> {
  const config = resolveAnalysisConfig(options.config);
  const ftNames = new Set(await finetuned.names());
  const selected = selectModules(await base.names(), config).filter((m) => ftNames.has(m.key));
  const { svd, matrices } = await analyseAll(selected, options, async (m, index, runSvd) =>
    analyseMatrix(m.key, await base.matrix(m.key), await finetuned.matrix(m.key), config, { index, runSvd }),
  );
  return { kind: 'checkpoints', config, svd, matrices };
}

/**
 * Base checkpoint plus a PEFT LoRA adapter: W′ = W + scaling·B·A per adapted module, with ΔW's spectrum from
 * the structured SVD ({@link loraSvd}, exact; padded with the min(out, in) − r zeros).
 */
export async function analyseAdapter(
  base: WeightSource,
  adapter: WeightSource,
  adapterConfig: PeftAdapterConfig,
  options: AnalyseOptions = {},
): Promise<AnalysisReport> {
  const config = resolveAnalysisConfig(options.config);
  const keys = new Map(loraModules(await adapter.names()).map((k) => [k.baseKey, k]));
  const selected = selectModules(await base.names(), config).filter((m) => keys.has(m.key));
  const { svd, matrices } = await analyseAll(selected, options, async (m, index, runSvd) => {
    const w = await base.matrix(m.key);
    const { a, b, scaling } = await readLoraFactors(adapter, keys.get(m.key)!, w, adapterConfig);
    // W′ = W + scaling · B A, (out, in)
    const wf = new Float64Array(w.data.length);
    const r = a.rows;
    const { rows, cols } = w;
    for (let o = 0; o < rows; o++) {
      for (let p = 0; p < r; p++) {
        const bop = scaling * b.data[o * r + p]!;
        if (bop === 0) continue;
        for (let j = 0; j < cols; j++) wf[o * cols + j] = wf[o * cols + j]! + bop * a.data[p * cols + j]!;
      }
    }
    for (let t = 0; t < wf.length; t++) wf[t] = wf[t]! + w.data[t]!;
    const ls = loraSvd(b, a, scaling).s;
    const ds = new Float64Array(Math.min(rows, cols));
    ds.set(ls.subarray(0, ds.length));
    return analyseMatrix(m.key, w, { rows, cols, data: wf }, config, { index, deltaSpectrum: ds, runSvd });
  });
  return { kind: 'adapter', config, svd, matrices };
}
