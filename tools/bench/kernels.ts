// Benchmark of @loralab/kernels (issue 10), all in one run with one OPENBLAS_CORETYPE setting for every side:
//  1. matrix products in GFLOP/s: native (OpenBLAS through the addon) vs tfjs wasm vs tfjs cpu vs PyTorch, and
//     native as a share of the machine's fp32 peak, measured in the same run by the addon's register-only FMA loop
//     on every core (`fmaPeak`);
//  2. a small Llama-like training step (embedding, RMSNorm, RoPE attention, SwiGLU, cross-entropy, AdamW) built from
//     tfjs ops at size a (d128, 4 layers, 4 heads, vocab 4096, seq 128, 8192 tokens/step), in tokens/s:
//     native backend with fused kernels + in-place AdamW, native backend with tfjs composite ops only, tfjs wasm,
//     and the same model in PyTorch.
// Each measurement runs in its own process (peak RSS is its own).
//
//   npx tsx --conditions=@loralab/source tools/bench/kernels.ts [--parts matmul,step] [--steps 2] [--seconds 0.5]
//        [--variants native,native-composite,wasm,torch] [--wasm-micro 4] [--threads 2] [--rounds 2]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs'; // gradients of all tfjs ops (tfjs-core alone registers none) and the cpu backend
import '@tensorflow/tfjs-backend-wasm';
import {
  kernelsReport,
  loadAddon,
  nativeEnvironment,
  registerNativeBackend,
  resolveKernelsConfig,
} from '@loralab/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { buildStep, SIZE_A } from './kernels-step.js';
import { secondsPerCall } from './timing.js';

const here = fileURLToPath(import.meta.url);
const torchScript = fileURLToPath(new URL('./kernels_torch.py', import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};

// ---- shared definitions ---------------------------------------------------------------------------------------

/** [m, k, n, transposeA, transposeB]: C (m, n) = op(A)·op(B) with K = k. */
type Shape = [number, number, number, boolean, boolean];
const SHAPES: Shape[] = [
  [256, 256, 256, false, false],
  [1024, 1024, 1024, false, false],
  [8192, 128, 384, false, false], // size a: gate/up projection forward
  [8192, 384, 128, false, false], // down projection forward
  [8192, 128, 4096, false, false], // lm_head forward
  [8192, 4096, 128, false, true], // lm_head backward dX = dY·Wᵀ
  [128, 8192, 4096, true, false], // lm_head backward dW = Xᵀ·dY
];
/** The tfjs cpu backend runs near 0.5 GFLOP/s: only products below this many flops are timed on it. */
const CPU_MAX_FLOPS = 1.1e9;

const flops = ([m, k, n]: Shape) => 2 * m * n * k;

// ---- children ---------------------------------------------------------------------------------------------------

async function useBackend(name: string): Promise<void> {
  if (name === 'native') {
    const r = registerNativeBackend();
    if (!r.registered) throw new Error(`native backend unavailable: ${r.report.reason}`);
    await tf.setBackend(r.backendName);
  } else {
    await tf.setBackend(name);
  }
  await tf.ready();
}

async function childMatmul(backend: string, seconds: number): Promise<(number | null)[]> {
  await useBackend(backend);
  const out: (number | null)[] = [];
  for (const shape of SHAPES) {
    const [m, k, n, ta, tb] = shape;
    if (backend === 'cpu' && flops(shape) > CPU_MAX_FLOPS) {
      out.push(null);
      continue;
    }
    const a = tf.randomUniform(ta ? [k, m] : [m, k]);
    const b = tf.randomUniform(tb ? [n, k] : [k, n]);
    const run = () => {
      const c = tf.matMul(a, b, ta, tb);
      c.dataSync();
      c.dispose();
    };
    out.push(flops(shape) / secondsPerCall(run, seconds) / 1e9);
    tf.dispose([a, b]);
  }
  return out;
}

async function childStep(variant: string, steps: number, microBatches: number) {
  await useBackend(variant.startsWith('native') ? 'native' : variant);
  const { step, params } = buildStep(variant, SIZE_A, microBatches);
  const losses = [step()]; // warm-up
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) losses.push(step());
  const dt = (performance.now() - t0) / 1000 / steps;
  return {
    params,
    step_s: dt,
    tokens_per_s: SIZE_A.tokens / dt,
    losses,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    tensors: tf.memory().numTensors,
  };
}

// ---- parent -----------------------------------------------------------------------------------------------------

function child(childArgs: string[]): unknown {
  const r = spawnSync(process.execPath, [...process.execArgv, here, '--child', ...childArgs], {
    encoding: 'utf8',
    timeout: 900_000,
    maxBuffer: 1 << 24,
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    return { error: (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ') };
  }
}

function torch(argv: string[]): Record<string, unknown> {
  const r = spawnSync('/usr/bin/python3', [torchScript, ...argv], { encoding: 'utf8', timeout: 900_000 });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
  } catch {
    return { error: (r.stderr || 'python3/torch unavailable').trim().split('\n').slice(-1)[0] };
  }
}

const fmt = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined ? '-' : v.toFixed(digits);

async function main() {
  if (args[0] === '--child') {
    const [, kind, name] = args;
    const addon = kind === 'peak' ? loadAddon(resolveKernelsConfig()).addon : null;
    const out =
      kind === 'peak'
        ? { gflops: addon ? addon.fmaPeak(2e8) : null }
        : kind === 'matmul'
          ? await childMatmul(name!, Number(opt('seconds', '0.5')))
          : await childStep(name!, Number(opt('steps', '2')), Number(opt('micro', '1')));
    console.log(JSON.stringify(out));
    return;
  }
  // One setting for the addon and PyTorch's OpenBLAS/OpenMP (core type, thread wait policy), fixed before either loads.
  Object.assign(process.env, nativeEnvironment(resolveKernelsConfig()));
  const threads = opt('threads', '2');
  const report = kernelsReport();
  console.log(
    `OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? '(unset)'} OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY ?? '(unset)'} OPENBLAS_THREAD_TIMEOUT=${process.env.OPENBLAS_THREAD_TIMEOUT ?? '(unset)'} (same for PyTorch); addon: ${report.available ? `OpenBLAS core ${report.corename}, "${report.blasConfig}", ${report.blasThreads} BLAS threads, ${report.fusedThreads} fused-kernel threads` : report.reason}; torch threads ${threads}`,
  );
  const parts = opt('parts', 'matmul,step').split(',');
  if (parts.includes('matmul')) {
    const seconds = opt('seconds', '0.5');
    // The machine is shared: each side is measured in `rounds` alternating rounds and its best round is kept.
    const rounds = Number(opt('rounds', '2'));
    const res: Record<string, (number | null)[] | { error: string }> = {};
    const keepBest = (b: string, r: unknown) => {
      if (!Array.isArray(r)) {
        if (res[b] === undefined) res[b] = r as { error: string };
        return;
      }
      const prev = res[b];
      res[b] = Array.isArray(prev)
        ? r.map((v: number | null, i) => Math.max(v ?? 0, prev[i] ?? 0) || null)
        : r;
    };
    let peak = 0;
    for (let round = 0; round < rounds; round++) {
      peak = Math.max(peak, ((child(['peak', '-']) as { gflops?: number }).gflops ?? 0) || 0);
      for (const b of round === 0 ? ['native', 'wasm', 'cpu'] : ['native']) {
        keepBest(b, child(['matmul', b, '--seconds', seconds]));
      }
      const t = torch(['matmul', JSON.stringify(SHAPES), threads, seconds]);
      keepBest('torch', t.gflops ?? { error: String(t.error) });
    }
    console.log(
      `\nmatmul GFLOP/s (m x k x n, op(A)·op(B)); native and torch: best of ${rounds} alternating rounds`,
    );
    console.log(
      `fp32 peak, FMA loop on every core (best of ${rounds}): ${peak > 0 ? `${fmt(peak)} GFLOP/s` : 'unavailable'}`,
    );
    console.log(
      'shape                    native    wasm     cpu   torch   native/torch  native/wasm  native/peak',
    );
    SHAPES.forEach((shape, i) => {
      const get = (b: string) => (Array.isArray(res[b]) ? (res[b] as (number | null)[])[i] : null);
      const [m, k, n, ta, tb] = shape;
      const name = `${m}x${k}x${n}${ta ? ' Aᵀ' : ''}${tb ? ' Bᵀ' : ''}`;
      const nat = get('native');
      const ratio = (x: number | null | undefined) => (nat && x ? `${(nat / x).toFixed(2)}x` : '-');
      console.log(
        `${name.padEnd(22)} ${fmt(nat).padStart(7)} ${fmt(get('wasm')).padStart(7)} ${fmt(get('cpu'), 2).padStart(7)} ${fmt(get('torch')).padStart(7)}   ${ratio(get('torch')).padStart(12)} ${ratio(get('wasm')).padStart(12)} ${(nat && peak > 0 ? `${((100 * nat) / peak).toFixed(0)}%` : '-').padStart(12)}`,
      );
    });
    for (const [b, r] of Object.entries(res))
      if (!Array.isArray(r)) console.log(`${b}: ${JSON.stringify(r)}`);
  }
  if (parts.includes('step')) {
    const steps = opt('steps', '2');
    // native-composite (tfjs composites on the native backend) is slow (minutes per step): only on request.
    const variants = opt('variants', 'native,wasm,torch').split(',');
    const wasmMicro = opt('wasm-micro', '4');
    console.log(
      `\ntraining step, size a (${JSON.stringify(SIZE_A)}), ${steps} timed steps after 1 warm-up; native and torch: best ` +
        `of ${opt('rounds', '2')} alternating rounds; wasm accumulates ` +
        `${wasmMicro} micro-batches per step (its 4 GiB heap), tfjs-backend-wasm defaults (no thread pool under Node)`,
    );
    const rows: [string, Record<string, unknown>][] = [];
    const rounds = Number(opt('rounds', '2'));
    for (let round = 0; round < rounds; round++) {
      for (const v of variants) {
        if (round > 0 && v !== 'native' && v !== 'torch') continue; // slow variants once
        const r =
          v === 'torch'
            ? torch(['step', JSON.stringify(SIZE_A), threads, steps])
            : (child(['step', v, '--steps', steps, '--micro', v === 'wasm' ? wasmMicro : '1']) as Record<
                string,
                unknown
              >);
        const at = rows.findIndex(([name]) => name === v);
        if (at < 0) rows.push([v, r]);
        else if (((r.tokens_per_s as number) ?? 0) > ((rows[at]![1].tokens_per_s as number) ?? 0))
          rows[at] = [v, r];
      }
    }
    const torchTps = rows.find(([v]) => v === 'torch')?.[1].tokens_per_s as number | undefined;
    console.log('variant              tokens/s   step s   vs torch   peak RSS MB   losses');
    for (const [v, r] of rows) {
      if (r.error !== undefined) {
        console.log(`${v.padEnd(20)} error: ${String(r.error)}`);
        continue;
      }
      const tps = r.tokens_per_s as number;
      console.log(
        `${v.padEnd(20)} ${fmt(tps, 0).padStart(8)} ${fmt(r.step_s as number, 2).padStart(8)} ${(torchTps ? `${(tps / torchTps).toFixed(2)}x` : '-').padStart(10)} ${fmt(r.peak_rss_mb as number, 0).padStart(13)}   ${(r.losses as number[]).map((l) => l.toFixed(4)).join(' ')}`,
      );
    }
  }
}

await main();
