// End-to-end benchmark of @loralab/rank's analysis on a Llama-shaped model held in memory: d_model 512,
// 8 layers, d_ff 1376, the seven projections per layer (56 matrices), base vs an FFT-like finetune, with the
// default AnalysisConfig (vectors for intruders and φ, the Gaussian and two W + c·G baselines), report files written.
//
//   npx tsx --conditions=@loralab/source tools/bench/rank-model.ts [--layers 8] [--workers 2] [--vectors true]
//
// The weights are synthetic (reading a safetensors folder needs @loralab/model's reader, see the README), so
// the figure is the analysis itself: 6 SVDs per matrix (W and W′ with vectors, ΔW and 3 baselines values only).
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  analyseCheckpoints,
  gaussianMatrix,
  type Matrix,
  memoryWeightSource,
  writeReport,
} from '@loralab/rank';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const layers = Number(arg('layers', '8'));
const workers = Number(arg('workers', String(Math.min(2, availableParallelism()))));
const vectors = arg('vectors', 'true') === 'true';
const d = 512;
const ff = 1376;
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
  `# @loralab/rank analysis: d ${d}, d_ff ${ff}, ${layers} layers, ${layers * 7} matrices, workers ${workers}, vectors ${vectors}`,
);
console.log(
  `load average before: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
const t0 = performance.now();
const report = await analyseCheckpoints(memoryWeightSource(base), memoryWeightSource(finetuned), {
  workers,
  config: { vectors },
  onMatrix: (_m, done, total) => {
    if (done % 7 === 0) console.log(`  ${done}/${total} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  },
});
const tAnalyse = (performance.now() - t0) / 1000;
const t1 = performance.now();
writeReport(out, report);
const tWrite = (performance.now() - t1) / 1000;
console.log(
  `analysis ${tAnalyse.toFixed(1)} s (${((tAnalyse / report.matrices.length) * 1000).toFixed(0)} ms per matrix), report files ${tWrite.toFixed(2)} s`,
);
for (const module of Object.keys(shapes)) {
  const ms = report.matrices.filter((m) => m.module === module);
  const avg = (f: (m: (typeof ms)[number]) => number) =>
    (ms.reduce((s, m) => s + f(m), 0) / ms.length).toFixed(1);
  console.log(
    `${module.padEnd(9)} rank@90(ΔW) ${avg((m) => m.delta.rank_energy)}  Gaussian ${avg((m) => m.gaussian_baseline!.rank_energy)}  W ${avg((m) => m.base.rank_energy)}  intruders ${vectors ? avg((m) => m.intruders!.count) : '-'}`,
  );
}
console.log(
  `load average after: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
rmSync(out, { recursive: true, force: true });
