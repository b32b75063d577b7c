// PiSSA (Meng et al. 2024, "PiSSA: Principal Singular Values and Singular Vectors Adaptation", arXiv 2404.02948) as
// PEFT's `LoraLayer.pissa_init` computes it: with W = U S Vᵀ (W is (out, in)) and its top-r triplets,
//   B = U_r · diag(√(S_r / s))  (out, r),   A = diag(√(S_r / s)) · V_rᵀ  (r, in),   W_res = W − s · B · A,
// so s·B·A = U_r S_r V_rᵀ (the principal part) is trained and the residual W_res stays frozen in the base: the
// model's output is unchanged at init. `init_lora_weights: "pissa"` takes the exact SVD; `"pissa_niter_K"` takes
// `torch.svd_lowrank(W, q=r, niter=K)`'s randomized one (much faster for large W).
import { ConfigError, createRng } from '@loralab/model';
import { type Svd, svdLowrank, thinSvd } from './svd.js';

/** A (r, in), B (out, r) and the residual W_res (out, in), float32, from W (out, in) float32. */
export function pissaInit(
  weight: Float32Array,
  outFeatures: number,
  inFeatures: number,
  r: number,
  scaling: number,
  niter: number | null,
  randn: () => number,
  where = 'pissa',
): { A: Float32Array; B: Float32Array; residual: Float32Array } {
  if (r > Math.min(outFeatures, inFeatures)) {
    throw new ConfigError(
      `${where}: PiSSA needs r <= min(out, in) = ${Math.min(outFeatures, inFeatures)}, found r = ${r}`,
      'r',
      r,
    );
  }
  if (!(scaling > 0)) {
    throw new ConfigError(
      `${where}: PiSSA needs a positive scaling α/r, found ${scaling}`,
      'lora_alpha',
      scaling,
    );
  }
  const w = Float64Array.from(weight);
  const svd: Svd =
    niter === null
      ? thinSvd(w, outFeatures, inFeatures)
      : svdLowrank(w, outFeatures, inFeatures, r, niter, randn);
  const A = new Float32Array(r * inFeatures);
  const B = new Float32Array(outFeatures * r);
  const a64 = new Float64Array(r * inFeatures);
  const b64 = new Float64Array(outFeatures * r);
  for (let j = 0; j < r; j++) {
    const root = Math.sqrt(svd.S[j]! / scaling); // √(S_j / s)
    for (let c = 0; c < inFeatures; c++) a64[j * inFeatures + c] = root * svd.Vt[j * svd.n + c]!;
    for (let o = 0; o < outFeatures; o++) b64[o * r + j] = svd.U[o * svd.k + j]! * root;
  }
  A.set(a64);
  B.set(b64);
  // W_res = W − s · B · A in float64, rounded once to float32.
  const residual = new Float32Array(outFeatures * inFeatures);
  for (let o = 0; o < outFeatures; o++) {
    for (let c = 0; c < inFeatures; c++) {
      let ba = 0;
      for (let j = 0; j < r; j++) ba += b64[o * r + j]! * a64[j * inFeatures + c]!;
      residual[o * inFeatures + c] = w[o * inFeatures + c]! - scaling * ba;
    }
  }
  return { A, B, residual };
}

/** A seeded standard-normal generator (`createRng`'s mulberry32 + Box-Muller) for the randomized SVD's test matrix. */
export function seededRandn(seed: number): () => number {
  const uniform = createRng(seed >>> 0 || 1);
  return () => {
    const u = uniform() || 1e-12;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}
