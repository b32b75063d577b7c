// Phase 5: the spectrum of every finetuning update ΔW (Biderman et al. 2024, §5): rank@τ by layer and module,
// against a Gaussian matrix of the same shape and norm; full arms compare model folders, LoRA arms read s·B·A.
import { createLapackSvd } from '@loralab/kernels';
import {
  type AnalysisReport,
  analyseAdapterFolder,
  analyseModelFolders,
  openSafetensorsFolder,
} from '@loralab/rank';
import type { RankMatrix, RankResult } from './results.js';

const ATTENTION = new Set(['q_proj', 'k_proj', 'v_proj', 'o_proj']);

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

/** The report's summary of an analysis: per matrix rank@τ, its Gaussian reference and the normalised spectrum. */
export function summariseRank(report: AnalysisReport, tau: number): RankResult {
  const matrices: RankMatrix[] = report.matrices.map((m) => {
    const top = m.spectra.delta[0] ?? 0;
    return {
      name: m.name,
      layer: m.layer,
      module: m.module,
      rows: m.rows,
      cols: m.cols,
      rank: m.delta.rank_energy,
      gaussian_rank: m.gaussian_baseline?.rank_energy ?? null,
      effective_rank: m.delta.effective_rank,
      relative_update_norm: m.relative_update_norm,
      spectrum: m.spectra.delta.slice(0, 64).map((s) => (top > 0 ? s / top : 0)),
    };
  });
  return {
    tau,
    matrices,
    mean: mean(matrices.map((m) => m.rank)),
    meanAttention: mean(matrices.filter((m) => ATTENTION.has(m.module)).map((m) => m.rank)),
    meanMlp: mean(matrices.filter((m) => !ATTENTION.has(m.module)).map((m) => m.rank)),
  };
}

/** ΔW of a full finetuning (`finetuned` a model folder) or of a LoRA adapter (`finetuned` an adapter folder). */
export async function analyseUpdate(
  baseDir: string,
  finetunedDir: string,
  method: 'full' | 'lora',
  tau: number,
  seed: number,
): Promise<RankResult> {
  const config = { tau, vectors: false, noise_scales: [], gaussian_baseline: true, seed };
  // LAPACK dgesdd through the native addon where it is built (LORALAB_RANK_SVD=wasm forces rank's own SVD); close()
  // gives OpenBLAS back the thread count training uses.
  const svd = createLapackSvd();
  try {
    const options = { config, svd, workers: 0 };
    const report =
      method === 'full'
        ? await analyseModelFolders(baseDir, finetunedDir, openSafetensorsFolder, options)
        : await analyseAdapterFolder(baseDir, finetunedDir, openSafetensorsFolder, options);
    return summariseRank(report, tau);
  } finally {
    await svd?.close();
  }
}
