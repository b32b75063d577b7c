// Exact SVD of a LoRA update ΔW = s · B · A (Hu et al. 2021) from its factors, in O((out + in)·r²) flops
// instead of O(out · in · min(out, in)): QR of B and of Aᵀ, then an r × r SVD of the core.
import { ShapeError } from './errors.js';
import { checkMatrix, type Matrix, type Matrix64, matmul, transpose } from './matrix.js';
import { qr } from './qr.js';
import { type SvdResult, svd } from './svd.js';

/**
 * SVD of ΔW = scale · B · A with B `[out, r]` (PEFT's `lora_B.weight`) and A `[r, in]` (`lora_A.weight`).
 *
 *   B = Q_B R_B (out × r, r × r),  Aᵀ = Q_A R_A (in × r, r × r)
 *   ΔW = Q_B · (scale · R_B R_Aᵀ) · Q_Aᵀ,  and with scale · R_B R_Aᵀ = U_c Σ V_cᵀ (r × r):
 *   ΔW = (Q_B U_c) Σ (Q_A V_c)ᵀ.
 *
 * Returns r singular values (descending; rank(ΔW) ≤ r so the other min(out, in) − r are exactly zero) and,
 * with `vectors`, U (out × r) and Vᵀ (r × in). When r ≥ min(out, in) the structure does not help and the
 * dense product is decomposed instead (then min(out, in) values come back).
 */
export function loraSvd(b: Matrix, a: Matrix, scale: number, options: { vectors?: boolean } = {}): SvdResult {
  checkMatrix(b, 'lora_B');
  checkMatrix(a, 'lora_A');
  if (b.cols !== a.rows) {
    throw new ShapeError(
      'LoRA factors disagree on the rank r',
      'lora_B [out, r] and lora_A [r, in]',
      `[${b.rows}, ${b.cols}] and [${a.rows}, ${a.cols}]`,
    );
  }
  const vectors = options.vectors ?? false;
  const r = b.cols;
  if (r >= Math.min(b.rows, a.cols)) {
    const dense = matmul(b, a);
    for (let i = 0; i < dense.data.length; i++) dense.data[i] = dense.data[i]! * scale;
    return svd(dense, { vectors });
  }
  const qb = qr(b); // (out, r), (r, r)
  const qa = qr(transpose(a)); // (in, r), (r, r)
  const core = matmul(qb.r, transpose(qa.r)); // R_B R_Aᵀ, (r, r)
  for (let i = 0; i < core.data.length; i++) core.data[i] = core.data[i]! * scale;
  const c = svd(core, { vectors });
  if (!vectors) return { s: c.s };
  const u = matmul(qb.q, c.u!); // (out, r)
  const v = matmul(qa.q, transpose(c.vt!)); // (in, r)
  return { s: c.s, u, vt: transpose(v) as Matrix64 };
}
