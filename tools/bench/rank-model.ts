// End-to-end benchmark of @loralab/rank's analysis on a Llama-shaped model held in memory: d_model 512,
// 8 layers, d_ff 1376, the seven projections per layer (56 matrices), base vs an FFT-like finetune, with the
// default AnalysisConfig (vectors for intruders and φ, the Gaussian and two W + c·G baselines), report files written.
//
//   npx tsx --conditions=@loralab/source tools/bench/rank-model.ts [--layers 8] [--d 512] [--ff 1376]
//       [--vectors true] [--noise 0.01,0.1] [--runs wasm:2,lapack:1x2,lapack:2x1]
//
// --vectors false --noise none is the experiment's own rank phase (values of ΔW, W, W′ and the Gaussian baseline).
//
// --runs analyses the same weights once per entry, in this process, one after the other:
//   wasm:W          rank's WebAssembly SVD on W worker threads, W matrices in flight (0: the calling thread)
//   lapack:CxT      LAPACK dgesdd of @loralab/kernels (createLapackSvd) with C SVDs at once, T OpenBLAS threads
//                   each, C matrices in flight; lapack:1x2 is one matrix at a time with 2-threaded BLAS ("sequential"),
//                   lapack:2x1 two matrices at once with single-threaded BLAS ("parallel")
// and prints each one's time, the peak RSS so far, and how far its spectra are from the first run's.
//
// The weights are synthetic (reading a safetensors folder needs @loralab/model's reader, see the README), so
// the figure is the analysis itself: 6 SVDs per matrix (W and W′ with vectors, ΔW and 3 baselines values only).
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLapackSvd } from '@loralab/kernels';
import {
  type AnalysisReport,
  analyseCheckpoints,
  gaussianMatrix,
  type Matrix,
  memoryWeightSource,
  type SvdProvider,
  writeReport,
} from '@loralab/rank';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const layers = Number(arg('layers', '8'));
const vectors = arg('vectors', 'true') === 'true';
const d = Number(arg('d', '512'));
const ff = Number(arg('ff', '1376'));
const noiseArg = arg('noise', '0.01,0.1');
const noiseScales = noiseArg === 'none' ? [] : noiseArg.split(',').map(Number);
const runs = arg('runs', `wasm:${Math.min(2, availableParallelism())}`).split(',');
const shapes: Record<string, [string, number, number]> = {
  q_proj: ['self_attn', d, d],
  k_proj: ['self_attn', d, d],
  v_proj: ['self_attn', d, d],
  o_proj: ['self_attn', d, d],
  gate_proj: ['mlp', ff, d],
  up_proj: ['mlp', ff, d],
  down_proj: ['mlp', d, ff],
};

// W ~ N(0, 0.02²); ΔW = a rank-64 part with a decaying spectrum plus small full-rank noise (an FFT-like update).
const base: Record<string, Matrix> = {};
const finetuned: Record<string, Matrix> = {};
let seed = 1;
for (let layer = 0; layer < layers; layer++) {
  for (const [module, [block, rows, cols]] of Object.entries(shapes)) {
    const key = `model.layers.${layer}.${block}.${module}.weight`;
    const w = gaussianMatrix(rows, cols, seed++);
    for (let i = 0; i < w.data.length; i++) w.data[i]! *= 0.02;
    const left = gaussianMatrix(rows, 64, seed++);
    const right = gaussianMatrix(64, cols, seed++);
    const noise = gaussianMatrix(rows, cols, seed++);
    const f = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      for (let p = 0; p < 64; p++) {
        const lp = (2e-4 * left.data[i * 64 + p]! * 0.95 ** p) / Math.sqrt(64);
        for (let j = 0; j < cols; j++) f[i * cols + j]! += lp * right.data[p * cols + j]!;
      }
    }
    for (let i = 0; i < f.length; i++) f[i] = w.data[i]! + f[i]! + 2e-5 * noise.data[i]!;
    base[key] = w;
    finetuned[key] = { rows, cols, data: f };
  }
}

const out = mkdtempSync(join(tmpdir(), 'rank-model-bench-'));
console.log(
  `# @loralab/rank analysis: d ${d}, d_ff ${ff}, ${layers} layers, ${layers * 7} matrices, vectors ${vectors}, noise baselines [${noiseScales.join(', ')}], ${availableParallelism()} CPUs`,
);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

/** The provider and in-flight matrices of one --runs entry. */
function setup(spec: string): { svd: SvdProvider | null; workers: number; parallel: number; label: string } {
  const [kind, shape = ''] = spec.split(':');
  if (kind === 'wasm') {
    const workers = Number(shape || '1');
    return { svd: null, workers, parallel: Math.max(1, workers), label: `wasm, ${workers} workers` };
  }
  if (kind === 'lapack') {
    const [c, t] = (shape || '1x1').split('x').map(Number) as [number, number];
    const svd = createLapackSvd({ concurrency: c, blasThreads: t });
    if (!svd)
      throw new Error(
        'lapack: @loralab/kernels addon not available (build it, or unset LORALAB_KERNELS=off)',
      );
    return {
      svd,
      workers: 0,
      parallel: c,
      label: `LAPACK (${svd.report.corename}), ${c} at once × ${t} OpenBLAS threads`,
    };
  }
  throw new Error(`--runs: unknown entry '${spec}' (wasm:W or lapack:CxT)`);
}

let first: AnalysisReport | null = null;
const rows: string[] = [];
for (const spec of runs) {
  const { svd, workers, parallel, label } = setup(spec);
  console.log(`## ${spec}: ${label}; load average before ${load()}`);
  const t0 = performance.now();
  const report = await analyseCheckpoints(memoryWeightSource(base), memoryWeightSource(finetuned), {
    svd,
    workers,
    parallelMatrices: parallel,
    config: { vectors, noise_scales: noiseScales },
    onMatrix: (_m, done, total) => {
      if (done % 7 === 0)
        console.log(`  ${done}/${total} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    },
  });
  const tAnalyse = (performance.now() - t0) / 1000;
  await (svd as { close?: () => Promise<void> } | null)?.close?.();
  const t1 = performance.now();
  writeReport(out, report);
  const tWrite = (performance.now() - t1) / 1000;
  // Agreement with the first run: max over matrices and spectra of |Δσ_i| / σ_1, and rank@90 differences.
  let spread = 0;
  let rankDiffs = 0;
  if (first) {
    for (const [i, m] of report.matrices.entries()) {
      const f = first.matrices[i]!;
      for (const key of ['base', 'finetuned', 'delta'] as const) {
        const a = m.spectra[key];
        const b = f.spectra[key];
        for (let j = 0; j < a.length; j++) spread = Math.max(spread, Math.abs(a[j]! - b[j]!) / b[0]!);
      }
      if (m.delta.rank_energy !== f.delta.rank_energy) rankDiffs++;
    }
  } else first = report;
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(
    `analysis ${tAnalyse.toFixed(1)} s (${((tAnalyse / report.matrices.length) * 1000).toFixed(0)} ms per matrix), report files ${tWrite.toFixed(2)} s, peak RSS so far ${rss.toFixed(0)} MiB, load average after ${load()}`,
  );
  rows.push(
    `| ${spec} | ${label} | ${tAnalyse.toFixed(1)} | ${((tAnalyse / report.matrices.length) * 1000).toFixed(0)} | ${first === report ? '(reference)' : spread.toExponential(1)} | ${first === report ? '' : rankDiffs} |`,
  );
  for (const module of Object.keys(shapes)) {
    const ms = report.matrices.filter((m) => m.module === module);
    const avg = (f: (m: (typeof ms)[number]) => number) =>
      (ms.reduce((s, m) => s + f(m), 0) / ms.length).toFixed(1);
    console.log(
      `  ${module.padEnd(9)} rank@90(ΔW) ${avg((m) => m.delta.rank_energy)}  Gaussian ${avg((m) => m.gaussian_baseline!.rank_energy)}  W ${avg((m) => m.base.rank_energy)}  intruders ${vectors ? avg((m) => m.intruders!.count) : '-'}`,
    );
  }
}
console.log(
  '| run | SVD | analysis (s) | per matrix (ms) | max |Δσ|/σ_1 vs first run | rank@90(ΔW) differing |',
);
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
rmSync(out, { recursive: true, force: true });
