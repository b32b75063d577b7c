// Micro-benchmark of the native bf16 GEMM (packages/kernels/native/bf16-gemm.cc) against the addon's fp32 sgemm
// (OpenBLAS) at the products of a training step (sizes a and c of model-sizes.ts, full finetuning and LoRA), in
// GFLOP/s and as a share of the fp32 peak measured in the same run (the addon's FMA loop, `fmaPeak`), next to PyTorch
// (Debian python3-torch 1.13) in fp32 and under torch.autocast('cpu', dtype=torch.bfloat16) (oneDNN's bf16 GEMM).
// --rounds alternating rounds (PyTorch fp32, PyTorch bf16, native fp32 and bf16: one window of --seconds per product
// each), and every side's best round per product (robust to the load of a shared machine). PyTorch runs with
// OPENBLAS_CORETYPE unset (its OpenBLAS picks its kernels; the core type each side ran with is printed).
//
//   npx tsx --conditions=@loralab/source tools/bench/bf16-gemm.bench.ts [--seconds 0.4] [--rounds 3] [--threads 2]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { kernelsReport, loadAddon, resolveKernelsConfig } from '@loralab/kernels';
import { lcgArray, secondsPerCall } from './timing.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const seconds = Number(opt('seconds', '0.4'));
const rounds = Number(opt('rounds', '3'));
const threads = Number(opt('threads', String(availableParallelism())));

/** [what, m, k, n, transposeA, transposeB]: C (m, n) = op(A)·op(B), inner dimension k. */
type Shape = [string, number, number, number, boolean, boolean];
const SHAPES: Shape[] = [
  ['a: gate/up x·Wᵀ', 8192, 128, 384, false, true],
  ['a: down x·Wᵀ', 8192, 384, 128, false, true],
  ['a: down dx = dy·W', 8192, 128, 384, false, false],
  ['a: gate/up dW = dyᵀ·x', 384, 8192, 128, true, false],
  ['a: lm_head chunk h·Wᵀ', 2048, 128, 4096, false, true],
  ['a: lm_head chunk dW = dᵀ·h', 4096, 2048, 128, true, false],
  ['a: LoRA x·Aᵀ (r 16)', 8192, 128, 16, false, true],
  ['a: LoRA dA = uᵀ·x', 16, 8192, 128, true, false],
  ['c: gate/up x·Wᵀ', 4096, 512, 1408, false, true],
  ['c: down dx = dy·W', 4096, 512, 1408, false, false],
  ['c: gate/up dW = dyᵀ·x', 1408, 4096, 512, true, false],
  ['c: lm_head chunk h·Wᵀ', 512, 512, 16384, false, true],
  ['square 1024', 1024, 1024, 1024, false, false],
];

const { addon, report } = loadAddon(resolveKernelsConfig({ threadWait: 'passive' }));
if (addon === null || addon.bf16gemm === undefined) {
  console.log(`native addon unavailable: ${report.reason ?? 'built before bf16 products existed'}`);
  process.exit(0);
}
addon.setThreads(threads, threads);
const one = new Int32Array(1);

/** GFLOP/s of one window of at least `seconds` (after one untimed call). */
const time = (f: () => void, flops: number) => flops / secondsPerCall(f, seconds) / 1e9;

function torchRun(precision: 'fp32' | 'bf16'): { gflops: number[]; corename: string | null } | null {
  if (!existsSync('/usr/bin/python3')) return null;
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  try {
    const out = execFileSync(
      '/usr/bin/python3',
      [
        fileURLToPath(new URL('./kernels_torch.py', import.meta.url)),
        'matmul',
        JSON.stringify(SHAPES.map(([, m, k, n, ta, tb]) => [m, k, n, ta, tb])),
        String(threads),
        String(seconds),
        precision,
      ],
      { encoding: 'utf8', env },
    );
    return JSON.parse(out.trim().split('\n').at(-1)!);
  } catch (e) {
    console.log(`PyTorch ${precision} skipped: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
}

const peak = Math.max(addon.fmaPeak(2e7), addon.fmaPeak(2e7), addon.fmaPeak(2e7));
const operands = SHAPES.map(([, m, k, n]) => ({
  a: lcgArray(m * k, 1),
  b: lcgArray(k * n, 2),
  c: new Float32Array(m * n),
}));
addon.setMatmulPrecision?.(false); // sgemm is fp32
const sides = ['native fp32', 'native bf16', 'torch fp32', 'torch bf16'] as const;
const best = new Map<string, number[]>(sides.map((s) => [s, SHAPES.map(() => Number.NaN)]));
const keep = (side: string, i: number, g: number | undefined) => {
  const row = best.get(side)!;
  if (g !== undefined && !(g <= row[i]!)) row[i] = g;
};
let torchCore: string | null = null;
for (let r = 0; r < rounds; r++) {
  for (const precision of ['fp32', 'bf16'] as const) {
    const t = torchRun(precision);
    torchCore = t?.corename ?? torchCore;
    for (const [i, g] of (t?.gflops ?? []).entries()) keep(`torch ${precision}`, i, g);
  }
  SHAPES.forEach(([, m, k, n, ta, tb], i) => {
    const { a, b, c } = operands[i]!;
    keep(
      'native fp32',
      i,
      time(() => addon.sgemm(a, b, c, 1, one, one, m, n, k, ta, tb), 2 * m * n * k),
    );
    keep(
      'native bf16',
      i,
      time(() => addon.bf16gemm!(a, b, c, 1, one, one, m, n, k, ta, tb), 2 * m * n * k),
    );
  });
}
console.log(
  `native: OpenBLAS core ${kernelsReport().corename} (OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? '(unset)'}), ` +
    `${threads} threads, AVX-512 BF16 ${addon.bf16Supported?.() ? 'yes' : 'no (bf16 falls back to sgemm)'}; ` +
    `PyTorch: OPENBLAS_CORETYPE unset, OpenBLAS core ${torchCore ?? '?'}, ${threads} threads`,
);
console.log(
  `fp32 peak (FMA loop on every core, best of 3): ${peak.toFixed(1)} GFLOP/s; load average ${loadavg().map((x) => x.toFixed(1))}`,
);
console.log(`best of ${rounds} alternating rounds, one window of ${seconds} s per product and side each\n`);
console.log(
  '| product | m×k×n | native fp32 | native bf16 | bf16/fp32 | bf16 % of fp32 peak | torch fp32 | torch bf16 | native bf16 / torch bf16 |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
SHAPES.forEach(([what, m, k, n, ta, tb], i) => {
  const [f32, b16, t32, t16] = sides.map((side) => best.get(side)![i]!) as [number, number, number, number];
  const f = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(1));
  console.log(
    `| ${what} | ${m}×${k}×${n}${ta ? ' Aᵀ' : ''}${tb ? ' Bᵀ' : ''} | ${f(f32)} | ${f(b16)} | ${(b16 / f32).toFixed(2)}x | ${((100 * b16) / peak).toFixed(0)}% | ${f(t32)} | ${f(t16)} | ${Number.isNaN(t16) ? 'n/a' : `${(b16 / t16).toFixed(2)}x`} |`,
  );
});
console.log(`\nload average at end ${loadavg().map((x) => x.toFixed(1))}`);
