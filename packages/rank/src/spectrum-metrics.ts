// Scalar summaries of a singular-value spectrum s_1 ≥ … ≥ s_k ≥ 0 (Biderman et al. 2024 §5;
// Roy & Vetterli 2007 for the effective rank; Rudelson & Vershynin 2007 for the stable rank).
import { ConfigError } from './errors.js';

/** Per-matrix spectrum metrics, as written to the report (JSON keys are these names). */
export interface SpectrumMetrics {
  /** min(rows, cols): the number of singular values. */
  k: number;
  /** ‖W‖_2 = s_1. */
  spectral_norm: number;
  /** ‖W‖_F = sqrt(Σ s_i²). */
  frobenius_norm: number;
  /** ‖W‖_* = Σ s_i. */
  nuclear_norm: number;
  /** ‖W‖_F² / ‖W‖_2² (Rudelson & Vershynin); 0 for the zero matrix. */
  stable_rank: number;
  /** exp(−Σ p_i log p_i), p_i = s_i / Σ s_j (Roy & Vetterli); 0 for the zero matrix. */
  effective_rank: number;
  /** The energy threshold τ used below. */
  tau: number;
  /** rank@τ (energy): smallest r with Σ_{i≤r} s_i² ≥ τ Σ s_i² ("explained variance", the paper's rank@90 reading). */
  rank_energy: number;
  /** rank@τ (σ-based): smallest r with Σ_{i≤r} s_i ≥ τ Σ s_i (the alternative reading; the paper does not say which). */
  rank_sigma: number;
  /** Numerical rank: #{i : s_i > max(m, n) · ε · s_1}, as numpy.linalg.matrix_rank. */
  numerical_rank: number;
}

function checkTau(tau: number): void {
  if (!(tau > 0 && tau <= 1)) throw new ConfigError(`must be in (0, 1], found ${tau}`, 'tau');
}

/** Smallest r with Σ_{i≤r} w_i ≥ τ Σ w_i for non-negative weights w (0 when all are zero). */
function thresholdCount(weights: ArrayLike<number>, tau: number): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i]!;
  if (total === 0) return 0;
  const target = tau * total;
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i]!;
    if (acc >= target) return i + 1;
  }
  return weights.length; // rounding left acc a hair below τ·total at τ = 1
}

/** rank@τ, energy-based: smallest r with Σ_{i≤r} s_i² / Σ s_i² ≥ τ. */
export function rankAtEnergy(s: ArrayLike<number>, tau = 0.9): number {
  checkTau(tau);
  return thresholdCount(
    Array.from(s, (x) => x * x),
    tau,
  );
}

/** rank@τ, σ-based: smallest r with Σ_{i≤r} s_i / Σ s_i ≥ τ. */
export function rankAtSigma(s: ArrayLike<number>, tau = 0.9): number {
  checkTau(tau);
  return thresholdCount(s, tau);
}

/** Cumulative explained variance c_r = Σ_{i≤r} s_i² / Σ s_i², r = 1…k (all zeros for the zero matrix). */
export function explainedVariance(s: ArrayLike<number>): Float64Array {
  const out = new Float64Array(s.length);
  let total = 0;
  for (let i = 0; i < s.length; i++) total += s[i]! * s[i]!;
  let acc = 0;
  for (let i = 0; i < s.length; i++) {
    acc += s[i]! * s[i]!;
    out[i] = total > 0 ? acc / total : 0;
  }
  return out;
}

/** Effective rank exp(H(p)), p_i = s_i / Σ s_j, H the Shannon entropy in nats (Roy & Vetterli 2007). */
export function effectiveRank(s: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < s.length; i++) total += s[i]!;
  if (total === 0) return 0;
  let h = 0;
  for (let i = 0; i < s.length; i++) {
    const p = s[i]! / total;
    if (p > 0) h -= p * Math.log(p);
  }
  return Math.exp(h);
}

/** Stable rank ‖W‖_F² / ‖W‖_2² = Σ s_i² / s_1² (s sorted descending). */
export function stableRank(s: ArrayLike<number>): number {
  const s1 = s.length > 0 ? s[0]! : 0;
  if (s1 === 0) return 0;
  let ss = 0;
  for (let i = 0; i < s.length; i++) ss += (s[i]! / s1) ** 2;
  return ss;
}

/**
 * All metrics of a spectrum `s` (descending) of a rows × cols matrix at energy threshold `tau` (default 0.9).
 */
export function spectrumMetrics(
  s: ArrayLike<number>,
  rows: number,
  cols: number,
  tau = 0.9,
): SpectrumMetrics {
  checkTau(tau);
  let ss = 0;
  let sum = 0;
  for (let i = 0; i < s.length; i++) {
    ss += s[i]! * s[i]!;
    sum += s[i]!;
  }
  const s1 = s.length > 0 ? s[0]! : 0;
  const cutoff = Math.max(rows, cols) * Number.EPSILON * s1;
  let numerical = 0;
  for (let i = 0; i < s.length; i++) if (s[i]! > cutoff) numerical++;
  return {
    k: s.length,
    spectral_norm: s1,
    frobenius_norm: Math.sqrt(ss),
    nuclear_norm: sum,
    stable_rank: stableRank(s),
    effective_rank: effectiveRank(s),
    tau,
    rank_energy: rankAtEnergy(s, tau),
    rank_sigma: rankAtSigma(s, tau),
    numerical_rank: numerical,
  };
}
