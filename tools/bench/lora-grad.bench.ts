// The adapter's products of a LoRA linear's backward pass (t = x Aᵀ, u = dy B, dA = s · uᵀ x, dB = s · dyᵀ t) at the
// shapes of a training step (sizes a-c of model-sizes.ts: the attention projections, gate/up and down, r = 16 unless
// --ranks says otherwise): the addon's one-pass kernel (native/lora.cc, `loraAdapterGrad`) against the same four
// products as four calls of the addon's fp32 sgemm (OpenBLAS), measured in the same run. Prints ms, GFLOP/s (4 · N · r ·
// (in + out) per call), the share of the fp32 peak measured in the same run, and the largest difference of
// dA and dB between the two (relative to their largest entry). --rounds alternating rounds, best round per side.
//
//   npx tsx --conditions=@loralab/source tools/bench/lora-grad.bench.ts [--seconds 0.3] [--rounds 3] [--ranks 16]
import { loadavg } from 'node:os';
import { kernelsReport, loadAddon, resolveKernelsConfig } from '@loralab/kernels';
import { intermediate, SIZES } from './model-sizes.js';
import { lcgArray, secondsPerCall } from './timing.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const seconds = Number(opt('seconds', '0.3'));
const rounds = Number(opt('rounds', '3'));
const ranks = opt('ranks', '16').split(',').map(Number);

const { addon, report } = loadAddon(resolveKernelsConfig({ threadWait: 'passive' }));
const loraAdapterGrad = addon?.loraAdapterGrad;
if (addon === null || loraAdapterGrad === undefined) {
  console.log(`native addon unavailable: ${report.reason ?? 'built before the fused LoRA backward existed'}`);
  process.exit(0);
}
addon.setMatmulPrecision?.(false);
const one = new Int32Array(1);

const maxRel = (a: Float32Array, b: Float32Array) => {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / Math.max(m, 1e-30);
};

type Case = { what: string; n: number; inp: number; out: number; r: number };
const cases: Case[] = [];
for (const size of Object.values(SIZES)) {
  const h = size.hidden;
  const f = intermediate(h);
  for (const r of ranks) {
    cases.push({ what: `${size.name}: q/k/v/o`, n: size.tokens, inp: h, out: h, r });
    cases.push({ what: `${size.name}: gate/up`, n: size.tokens, inp: h, out: f, r });
    cases.push({ what: `${size.name}: down`, n: size.tokens, inp: f, out: h, r });
  }
}

const s = 2;
const peak = Math.max(addon.fmaPeak(2e7), addon.fmaPeak(2e7), addon.fmaPeak(2e7));
const rows = cases.map(({ what, n, inp, out, r }) => {
  const x = lcgArray(n * inp, 1);
  const dy = lcgArray(n * out, 2);
  const a = lcgArray(r * inp, 3);
  const b = lcgArray(out * r, 4);
  const fused = { da: new Float32Array(r * inp), db: new Float32Array(out * r) };
  const blas = { da: new Float32Array(r * inp), db: new Float32Array(out * r) };
  const t = new Float32Array(n * r);
  const u = new Float32Array(n * r);
  const runFused = () => loraAdapterGrad(x, dy, a, b, null, null, fused.da, fused.db, n, inp, out, r, s);
  const runBlas = () => {
    addon.sgemm(dy, b, u, 1, one, one, n, r, out, false, false, 1, 0); // u = dy B
    addon.sgemm(u, x, blas.da, 1, one, one, r, inp, n, true, false, s, 0); // dA = s · uᵀ x
    addon.sgemm(x, a, t, 1, one, one, n, r, inp, false, true, 1, 0); // t = x Aᵀ
    addon.sgemm(dy, t, blas.db, 1, one, one, out, r, n, true, false, s, 0); // dB = s · dyᵀ t
  };
  let bestFused = Number.POSITIVE_INFINITY;
  let bestBlas = Number.POSITIVE_INFINITY;
  for (let k = 0; k < rounds; k++) {
    bestBlas = Math.min(bestBlas, secondsPerCall(runBlas, seconds));
    bestFused = Math.min(bestFused, secondsPerCall(runFused, seconds));
  }
  const flops = 4 * n * r * (inp + out); // four products of 2 · N · r · (in or out)
  return {
    what: `${what} (N ${n}, in ${inp}, out ${out}, r ${r})`,
    blasMs: bestBlas * 1e3,
    fusedMs: bestFused * 1e3,
    blasG: flops / bestBlas / 1e9,
    fusedG: flops / bestFused / 1e9,
    diff: Math.max(maxRel(fused.da, blas.da), maxRel(fused.db, blas.db)),
  };
});

console.log(
  `OpenBLAS core ${kernelsReport().corename} (OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? '(unset)'}), ` +
    `${kernelsReport().fusedThreads} fused-kernel threads; fp32 peak (FMA loop, best of 3) ${peak.toFixed(1)} GFLOP/s; ` +
    `load average ${loadavg().map((v) => v.toFixed(1))}`,
);
console.log('');
console.log(
  '| products | 4 × sgemm ms | GFLOP/s | one pass ms | GFLOP/s | % peak | speed-up | max rel. diff |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(
    `| ${r.what} | ${r.blasMs.toFixed(2)} | ${r.blasG.toFixed(1)} | ${r.fusedMs.toFixed(2)} | ${r.fusedG.toFixed(1)} | ` +
      `${((100 * r.fusedG) / peak).toFixed(0)}% | ${(r.blasMs / r.fusedMs).toFixed(2)}x | ${r.diff.toExponential(1)} |`,
  );
}
