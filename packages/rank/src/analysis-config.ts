// AnalysisConfig: what the per-module spectral analysis of a finetuning update computes.
import { ConfigError } from './errors.js';
import { LLAMA_MODULES } from './weight-source.js';

/** One flat, JSON-serialisable config for {@link analyseCheckpoints} and {@link analyseAdapter}. */
export interface AnalysisConfig {
  /** Energy threshold τ of rank@τ (both readings are reported). Default 0.9. */
  tau: number;
  /** Module names to analyse (the last path component before `.weight`). Default the seven Llama projections. */
  modules: string[];
  /** Layer indices to analyse, or null for all. Default null. */
  layers: number[] | null;
  /** Add the Gaussian baseline (same shape and Frobenius norm as ΔW). Default true. */
  gaussian_baseline: boolean;
  /** Relative noise sizes c of the W + c·G baseline (‖c·G‖_F = c‖W‖_F); [] to skip. Default [0.01, 0.1]. */
  noise_scales: number[];
  /** Compute the left singular vectors of W and W′ for intruder dimensions and subspace similarity (several times the cost of values only). Default true. */
  vectors: boolean;
  /** Top-k finetuned singular vectors examined for intruders, and k of the subspace similarity φ(W, W′, k, k). Default 10. */
  intruder_k: number;
  /** Intruder threshold ε on the largest |cosine| with any base singular vector. Default 0.5. */
  intruder_epsilon: number;
  /** Seed of the random baselines (each matrix gets seed + its index). Default 0. */
  seed: number;
}

export const DEFAULT_ANALYSIS_CONFIG: AnalysisConfig = {
  tau: 0.9,
  modules: [...LLAMA_MODULES],
  layers: null,
  gaussian_baseline: true,
  noise_scales: [0.01, 0.1],
  vectors: true,
  intruder_k: 10,
  intruder_epsilon: 0.5,
  seed: 0,
};

/** Fills defaults, rejects unknown keys and out-of-range values. */
export function resolveAnalysisConfig(partial: Partial<AnalysisConfig> = {}): AnalysisConfig {
  for (const key of Object.keys(partial)) {
    if (!(key in DEFAULT_ANALYSIS_CONFIG)) {
      throw new ConfigError(`unknown key (known: ${Object.keys(DEFAULT_ANALYSIS_CONFIG).join(', ')})`, key);
    }
  }
  const c: AnalysisConfig = { ...DEFAULT_ANALYSIS_CONFIG, ...partial };
  if (!(c.tau > 0 && c.tau <= 1)) throw new ConfigError(`must be in (0, 1], found ${c.tau}`, 'tau');
  if (!Array.isArray(c.modules) || c.modules.length === 0 || !c.modules.every((m) => typeof m === 'string')) {
    throw new ConfigError('must be a non-empty list of module names', 'modules');
  }
  if (
    c.layers !== null &&
    !(Array.isArray(c.layers) && c.layers.every((l) => Number.isInteger(l) && l >= 0))
  ) {
    throw new ConfigError('must be null or a list of non-negative integers', 'layers');
  }
  if (!c.noise_scales.every((x) => typeof x === 'number' && x > 0)) {
    throw new ConfigError(
      `must be positive numbers, found ${JSON.stringify(c.noise_scales)}`,
      'noise_scales',
    );
  }
  if (!(Number.isInteger(c.intruder_k) && c.intruder_k >= 1)) {
    throw new ConfigError(`must be a positive integer, found ${c.intruder_k}`, 'intruder_k');
  }
  if (!(c.intruder_epsilon > 0 && c.intruder_epsilon <= 1)) {
    throw new ConfigError(`must be in (0, 1], found ${c.intruder_epsilon}`, 'intruder_epsilon');
  }
  if (!Number.isInteger(c.seed)) throw new ConfigError(`must be an integer, found ${c.seed}`, 'seed');
  return c;
}
