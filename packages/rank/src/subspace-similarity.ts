// Normalised subspace similarity of top singular vectors (Hu et al. 2021, "LoRA", §7.2, eq. 4):
//   φ(A, B, i, j) = ‖U_Aⁱᵀ U_Bʲ‖_F² / min(i, j) ∈ [0, 1],
// where U_Aⁱ holds the top-i left (or right) singular vectors of A as columns.
import { ShapeError } from './errors.js';
import type { Matrix } from './matrix.js';

/**
 * φ for every 1 ≤ i ≤ iMax, 1 ≤ j ≤ jMax at once: row-major (iMax × jMax), entry (i−1, j−1) = φ(i, j).
 * `ua` (d × ka) and `ub` (d × kb) hold singular vectors as columns (as `svd().u`; pass `vt` transposed for the
 * right side). One product M = U_Aᵀ U_B (iMax × jMax) and a 2-D prefix sum of M² give all entries.
 */
export function subspaceSimilarityGrid(ua: Matrix, ub: Matrix, iMax: number, jMax: number): Float64Array {
  if (ua.rows !== ub.rows) {
    throw new ShapeError(
      'subspace similarity: the vectors live in different spaces',
      `equal row counts`,
      `${ua.rows} and ${ub.rows}`,
    );
  }
  if (iMax > ua.cols || jMax > ub.cols || iMax < 1 || jMax < 1) {
    throw new ShapeError(
      'subspace similarity: not that many vectors',
      `1 ≤ i ≤ ${ua.cols}, 1 ≤ j ≤ ${ub.cols}`,
      `i = ${iMax}, j = ${jMax}`,
    );
  }
  const d = ua.rows;
  const m2 = new Float64Array(iMax * jMax); // M_ij², M = U_Aᵀ U_B
  for (let r = 0; r < d; r++) {
    const ar = r * ua.cols;
    const br = r * ub.cols;
    for (let i = 0; i < iMax; i++) {
      const x = ua.data[ar + i]!;
      if (x === 0) continue;
      for (let j = 0; j < jMax; j++) m2[i * jMax + j] = m2[i * jMax + j]! + x * ub.data[br + j]!;
    }
  }
  for (let t = 0; t < m2.length; t++) m2[t] = m2[t]! * m2[t]!;
  // prefix sums: P(i, j) = Σ_{a ≤ i, b ≤ j} M_ab²
  const out = new Float64Array(iMax * jMax);
  for (let i = 0; i < iMax; i++) {
    let row = 0;
    for (let j = 0; j < jMax; j++) {
      row += m2[i * jMax + j]!;
      const above = i > 0 ? out[(i - 1) * jMax + j]! : 0;
      out[i * jMax + j] = above + row;
    }
  }
  for (let i = 0; i < iMax; i++) {
    for (let j = 0; j < jMax; j++) out[i * jMax + j] = out[i * jMax + j]! / Math.min(i + 1, j + 1);
  }
  return out;
}

/** φ(A, B, i, j) for one pair (see {@link subspaceSimilarityGrid}). */
export function subspaceSimilarity(ua: Matrix, ub: Matrix, i: number, j: number): number {
  return subspaceSimilarityGrid(ua, ub, i, j)[i * j - 1]!;
}
