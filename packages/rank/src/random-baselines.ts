// Random-matrix baselines for the spectrum metrics (Biderman et al. 2024, Appendix on the rank of ΔW):
// an i.i.d. Gaussian matrix of the same shape and Frobenius norm, and the base matrix plus scaled noise W + c·G.
import { frobeniusNorm, type Matrix, type Matrix64 } from './matrix.js';
import { Random } from './random.js';

/** A rows × cols matrix of i.i.d. N(0, 1) entries from `seed`. */
export function gaussianMatrix(rows: number, cols: number, seed: number): Matrix64 {
  return { rows, cols, data: new Random(seed).normals(rows * cols) };
}

/** An i.i.d. Gaussian matrix of the given shape rescaled to Frobenius norm exactly `frobenius` (the paper's baseline for ΔW). */
export function gaussianLike(rows: number, cols: number, frobenius: number, seed: number): Matrix64 {
  const g = gaussianMatrix(rows, cols, seed);
  const f = frobeniusNorm(g);
  const scale = f > 0 ? frobenius / f : 0;
  for (let i = 0; i < g.data.length; i++) g.data[i] = g.data[i]! * scale;
  return g;
}

/**
 * W + c·G with G Gaussian of W's shape scaled to ‖G‖_F = ‖W‖_F, so that c is the relative size of the
 * perturbation: ‖c·G‖_F / ‖W‖_F = c. This is the "base weights plus random noise" baseline.
 */
export function perturbWithNoise(w: Matrix, c: number, seed: number): Matrix64 {
  const g = gaussianLike(w.rows, w.cols, frobeniusNorm(w), seed);
  const out = new Float64Array(w.data.length);
  for (let i = 0; i < out.length; i++) out[i] = w.data[i]! + c * g.data[i]!;
  return { rows: w.rows, cols: w.cols, data: out };
}
