// Intruder dimensions (Shuttleworth et al. 2024, "LoRA vs Full Fine-tuning: An Illusion of Equivalence", §3):
// singular vectors of the finetuned matrix that are far from every singular vector of the base matrix.
import { ConfigError, ShapeError } from './errors.js';
import type { Matrix } from './matrix.js';

/** One of the top-k finetuned singular vectors and its best match among the base singular vectors. */
export interface IntruderCandidate {
  /** Index of the finetuned singular vector (0 = largest singular value). */
  index: number;
  /** max_j |cos(u_ft_index, u_base_j)| over all base singular vectors. */
  max_cosine: number;
  /** The base vector j that attains it. */
  best_match: number;
  /** max_cosine < ε. */
  intruder: boolean;
}

/** Result of {@link intruderDimensions}. */
export interface IntruderReport {
  k: number;
  epsilon: number;
  /** Number of intruders among the top k. */
  count: number;
  candidates: IntruderCandidate[];
}

/**
 * Among the top `k` singular vectors of the finetuned matrix (columns of `uFinetuned`, d × k_ft, sorted by
 * singular value), those whose largest |cosine similarity| with every base singular vector (columns of
 * `uBase`, d × k_base) is below `epsilon`. Both sets are unit vectors, so the cosine is the dot product.
 * Shuttleworth et al. use k = 10 and ε ≈ 0.5 on the left singular vectors; pass Vᵀ transposed for the right side.
 */
export function intruderDimensions(uBase: Matrix, uFinetuned: Matrix, k = 10, epsilon = 0.5): IntruderReport {
  if (uBase.rows !== uFinetuned.rows) {
    throw new ShapeError(
      'intruder dimensions: vectors of different length',
      'equal row counts',
      `${uBase.rows} and ${uFinetuned.rows}`,
    );
  }
  if (!(epsilon > 0 && epsilon <= 1))
    throw new ConfigError(`must be in (0, 1], found ${epsilon}`, 'intruder_epsilon');
  if (!(Number.isInteger(k) && k >= 1))
    throw new ConfigError(`must be a positive integer, found ${k}`, 'intruder_k');
  const kk = Math.min(k, uFinetuned.cols);
  const d = uBase.rows;
  const nb = uBase.cols;
  const nf = uFinetuned.cols;
  // dots[i][j] = <u_ft_i, u_base_j>, accumulated row by row of the (row-major) vector matrices.
  const dots = new Float64Array(kk * nb);
  for (let r = 0; r < d; r++) {
    for (let i = 0; i < kk; i++) {
      const x = uFinetuned.data[r * nf + i]!;
      if (x === 0) continue;
      const base = r * nb;
      for (let j = 0; j < nb; j++) dots[i * nb + j] = dots[i * nb + j]! + x * uBase.data[base + j]!;
    }
  }
  const candidates: IntruderCandidate[] = [];
  for (let i = 0; i < kk; i++) {
    let best = 0;
    let arg = 0;
    for (let j = 0; j < nb; j++) {
      const c = Math.abs(dots[i * nb + j]!);
      if (c > best) {
        best = c;
        arg = j;
      }
    }
    candidates.push({ index: i, max_cosine: best, best_match: arg, intruder: best < epsilon });
  }
  return { k: kk, epsilon, count: candidates.filter((c) => c.intruder).length, candidates };
}
