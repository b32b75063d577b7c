// Benchmark of @loralab/model (issues 4 and 10): one training step (forward, backward, AdamW) in tokens/s, achieved GFLOP/s (6 · parameters · tokens / time, the full-finetuning count) and peak RSS for
// sizes a, b, c, full finetuning (FFT) and LoRA (r = 16, alpha 32, all linear modules of the blocks), on the native
// (@loralab/kernels), wasm and cpu backends, next to the identical model in PyTorch (Debian python3-torch, run in the
// same invocation) when it is importable; plus generation tokens/s with and without the KV cache. Each measurement
// runs in its own process so peak RSS is its own. AdamW: in place (InPlaceAdamW) on native, tfjs ops elsewhere,
// torch.optim.AdamW in PyTorch.
//
//   npx tsx --conditions=@loralab/source tools/bench/model-step.bench.ts [--sizes a,b,c] [--variants fft,lora]
//        [--backends native,wasm] [--steps 1] [--rounds 1] [--cpu-tokens 512] [--cpu-sizes a,b]
//        [--torch-threads N] [--wasm-threads 1] [--checkpoint on|off] [--precisions fp32,bf16] [--gen]
//   --checkpoint on (default, as lossAndGradients) recomputes every block in the backward pass on all sides
//   (PyTorch: torch.utils.checkpoint per block); off keeps every activation, on all sides.
//   --rounds R runs PyTorch and native R times, alternating, and reports each one's fastest round (robust to the load
//   of a shared machine); wasm and cpu, ten times slower, run once.
//   --precisions fp32,bf16 adds mixed-precision rows: native with initBackend's precision 'bf16' (bf16 products, fp32
//   sums) and PyTorch under torch.autocast('cpu', dtype=torch.bfloat16); "vs torch" compares equal precisions, and
//   "% row peak" is GFLOP/s over the fp32 FMA peak (the addon's fmaPeak, best of 3) measured right before that row's
//   process started (the cores' rate drifts on a shared machine: 202-234 GFLOP/s within one run); "% run peak"
//   divides by the highest peak of the run (best of 3 at the start and 3 at the end; the table is printed at the end).
//   --torch-cores auto,SkylakeX runs PyTorch under each OPENBLAS_CORETYPE (auto: unset) and anchors each row on the
//   faster (the row prints the core type it ran with).
//   --readme FILE writes this run (its settings, table and a summary of the native fp32 rows) between FILE's
//   `model-step-table` markers (the kernels README's section "Training step against PyTorch, fp32 and bf16").
//   PyTorch gets the passive thread wait the native backend sets up (see packages/kernels/README.md), OPENBLAS_CORETYPE
//   unset (its OpenBLAS picks its kernels; each side's core type is printed) and, by default, as many threads as the
//   machine has cores (as native).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  InPlaceAdamW,
  kernelsReport,
  loadAddon,
  type MatmulPrecision,
  nativeEnvironment,
  resolveKernelsConfig,
} from '@loralab/kernels';
import { LoraModel } from '@loralab/lora';
import { type BackendName, generate, initBackend, LlamaForCausalLM } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import { type BenchSize, benchConfig, SIZES } from './model-sizes.js';

const here = fileURLToPath(import.meta.url);
const coreTypeAtStart = process.env.OPENBLAS_CORETYPE; // before the addon's loader sets it
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};

type Variant = 'fft' | 'lora';

interface StepResult {
  params: number;
  trainable: number;
  step_s: number;
  tokens_per_s: number;
  tokens: number;
  threads: number | null;
  peak_rss_mb: number;
  loss?: number;
  /** The OpenBLAS core type this side ran with. */
  corename?: string | null;
  precision?: MatmulPrecision;
  /** The fp32 FMA peak measured (by the parent) just before this measurement's process started. */
  peak_gflops?: number | null;
}

/** Minimal AdamW of tfjs ops (decoupled weight decay), enough to time the update; the trainer package owns the real one. */
function createAdamW(vars: tf.Variable[], lr = 1e-4, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01) {
  const m = vars.map((v) => tf.variable(tf.zerosLike(v), false));
  const s = vars.map((v) => tf.variable(tf.zerosLike(v), false));
  let t = 0;
  return (grads: tf.Tensor[]) => {
    t++;
    const c1 = 1 - b1 ** t;
    const c2 = 1 - b2 ** t;
    tf.tidy(() => {
      vars.forEach((w, i) => {
        const g = grads[i]!;
        m[i]!.assign(tf.add(tf.mul(m[i]!, b1), tf.mul(g, 1 - b1)));
        s[i]!.assign(tf.add(tf.mul(s[i]!, b2), tf.mul(tf.square(g), 1 - b2)));
        const update = tf.div(tf.div(m[i]!, c1), tf.add(tf.sqrt(tf.div(s[i]!, c2)), eps));
        w.assign(tf.sub(w, tf.mul(tf.add(update, tf.mul(w, wd)), lr)));
      });
    });
  };
}

async function childStep(
  backend: BackendName,
  variant: Variant,
  size: BenchSize,
  tokens: number,
  steps: number,
  wasmThreads: number,
  checkpoint: boolean,
  precision: MatmulPrecision,
): Promise<StepResult> {
  const info = await initBackend(backend, { wasmThreads, precision });
  const model = new LlamaForCausalLM(benchConfig(size), { seed: 0 });
  const nParams = [...model.parameters().values()].reduce((a, p) => a + p.variable.size, 0);
  if (variant === 'lora') new LoraModel(model, { r: 16, lora_alpha: 32, target_modules: 'all-linear' });
  const params = model.trainableParameters();
  const B = Math.max(1, Math.floor(tokens / size.seq));
  const ids = {
    data: Int32Array.from({ length: B * size.seq }, (_, i) => (i * 7919) % size.vocab),
    shape: [B, size.seq] as [number, number],
  };
  const vars = params.map((p) => p.variable);
  const inPlace = backend === 'native' ? new InPlaceAdamW(vars, { lr: 1e-4, weightDecay: 0.01 }) : null;
  const adamw = inPlace ? (g: tf.Tensor[]) => inPlace.update(g) : createAdamW(vars);
  let last = 0;
  const step = () => {
    const { loss, grads, numTokens } = model.lossAndGradients(ids, ids, { parameters: params, checkpoint });
    const scaled = params.map((p) => tf.div(grads.get(p.name)!, numTokens));
    adamw(scaled);
    last = loss.dataSync()[0]! / numTokens;
    tf.dispose([loss, ...grads.values(), ...scaled]);
  };
  step(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const dt = (performance.now() - t0) / 1000 / steps;
  return {
    params: nParams,
    trainable: vars.reduce((a, v) => a + v.size, 0),
    step_s: dt,
    tokens: B * size.seq,
    tokens_per_s: (B * size.seq) / dt,
    threads: info.threads,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    loss: last,
    corename: backend === 'native' ? (kernelsReport().corename ?? null) : null,
    precision: info.precision,
  };
}

async function childGen(backend: BackendName): Promise<Record<string, number>> {
  await initBackend(backend);
  const size = SIZES.a!;
  const model = new LlamaForCausalLM(
    { ...benchConfig(size), eos_token_id: null, max_position_embeddings: 256 },
    { seed: 0 },
  );
  const prompt = [Array.from({ length: 32 }, (_, i) => (i * 31) % size.vocab)];
  const out: Record<string, number> = {};
  for (const useCache of [true, false]) {
    await generate(model, prompt, { maxNewTokens: 4, useCache }); // warm-up
    const t0 = performance.now();
    const r = await generate(model, prompt, { maxNewTokens: 64, useCache });
    out[useCache ? 'cached_tok_s' : 'uncached_tok_s'] =
      r.tokens[0]!.length / ((performance.now() - t0) / 1000);
  }
  return out;
}

function torchAvailable(): boolean {
  if (!existsSync('/usr/bin/python3')) return false;
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function runChild(childArgs: string[]): unknown {
  const r = spawnSync(process.execPath, [...process.execArgv, here, '--child', ...childArgs], {
    timeout: 1800_000, // a threaded wasm build that runs out of memory hangs instead of exiting
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line);
  } catch {
    // e.g. wasm's 4 GiB heap exhausted without checkpointing: reported in the table, the other rows still run
    const why =
      r.stderr
        .split('\n')
        .filter((l) => l.length < 300) // not the minified wasm glue that a stack trace quotes
        .find((l) => /^\s*\w*Error\b|Aborted\(|out of memory/i.test(l)) ?? `exit ${r.status ?? r.signal}`;
    return { error: why.trim().slice(0, 160) };
  }
}

const fmt = (x: number, d = 1) => x.toFixed(d);

async function main() {
  if (args[0] === '--child') {
    const [kind, backend, variant, sizeName, tokens, steps, threads, ckpt, precision] = args.slice(1);
    const result =
      kind === 'gen'
        ? await childGen(backend as BackendName)
        : await childStep(
            backend as BackendName,
            variant as Variant,
            SIZES[sizeName!]!,
            Number(tokens),
            Number(steps),
            Number(threads),
            ckpt !== 'off',
            (precision ?? 'fp32') as MatmulPrecision,
          );
    console.log(JSON.stringify(result));
    process.exit(0);
  }
  const sizes = opt('sizes', 'a,b,c').split(',');
  const variants = opt('variants', 'fft,lora').split(',') as Variant[];
  const backends = opt('backends', 'native,wasm').split(',');
  const steps = opt('steps', '1');
  const rounds = Number(opt('rounds', '1'));
  const cpuTokens = Number(opt('cpu-tokens', '512'));
  const cpuSizes = opt('cpu-sizes', 'a,b').split(',');
  const torchThreads = Number(opt('torch-threads', String(availableParallelism())));
  const wasmThreads = Number(opt('wasm-threads', '1'));
  const checkpoint = opt('checkpoint', 'on');
  const precisions = opt('precisions', 'fp32').split(',') as MatmulPrecision[];
  // OpenBLAS core types PyTorch runs under ('auto': OPENBLAS_CORETYPE unset, the library's own pick); each row's
  // anchor is the fastest of them
  const torchCores = opt('torch-cores', 'auto').split(',');
  const haveTorch = torchAvailable();
  const torchEnv: Record<string, string | undefined> = {
    ...process.env,
    ...nativeEnvironment(resolveKernelsConfig()),
  };
  delete torchEnv.OPENBLAS_CORETYPE;
  // The fp32 peak of this machine (best of 3 now and 3 at the end), from the addon's FMA loop, when it is built.
  const { addon } = loadAddon(resolveKernelsConfig({ notice: false }));
  const measurePeak = () => (addon ? Math.max(...[0, 1, 2].map(() => addon.fmaPeak(2e7))) : null);
  const peakStart = measurePeak();
  const table: {
    gflops: number | null;
    text: string;
    /** native fp32 rows: [size, variant, vs torch fp32, % row peak] for the summary */
    native?: [string, Variant, number | null, number | null];
  }[] = [];
  const settings: string[] = []; // the lines above the table, for --readme
  const log = (line: string) => {
    console.log(line);
    settings.push(line);
  };
  log(
    `node ${process.version}, ${availableParallelism()} cores, ${steps} timed step(s) after one warm-up; torch and native: best of ${rounds} alternating round(s); cpu backend runs ${cpuTokens} tokens/step`,
  );
  log(
    `PyTorch env: OPENBLAS_CORETYPE=${torchCores.map((c) => (c === 'auto' ? '(unset)' : c)).join(' or ')}, the faster per row; OMP_WAIT_POLICY=${torchEnv.OMP_WAIT_POLICY ?? '(unset)'} OPENBLAS_THREAD_TIMEOUT=${torchEnv.OPENBLAS_THREAD_TIMEOUT ?? '(unset)'}, ${torchThreads} threads`,
  );
  log(
    `native env: OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? '(unset)'}; fp32 peak at start (FMA loop on every core, best of 3): ${peakStart === null ? 'n/a (addon not built)' : `${peakStart.toFixed(1)} GFLOP/s`}; precisions ${precisions.join(', ')}`,
  );
  log(`block checkpointing ${checkpoint} on every side`);
  log(`load average at start ${loadavg().map((x) => x.toFixed(1))}`);
  if (!haveTorch) {
    log('PyTorch rows skipped: /usr/bin/python3 cannot import torch (apt-get install python3-torch)');
  }

  for (const name of sizes) {
    const size = SIZES[name]!;
    for (const variant of variants) {
      const best = new Map<string, StepResult>();
      const failed = new Map<string, string>();
      const keep = (backend: string, r: StepResult) => {
        const prev = best.get(backend);
        if (!prev) best.set(backend, r);
        else {
          const peak = Math.max(prev.peak_rss_mb, r.peak_rss_mb);
          best.set(backend, { ...(r.tokens_per_s > prev.tokens_per_s ? r : prev), peak_rss_mb: peak });
        }
      };
      // Each measurement carries the FMA peak measured right before it ("% row peak"; see the top of this file).
      for (let round = 0; round < rounds; round++) {
        for (const precision of precisions) {
          const tag = (backend: string) => (precision === 'fp32' ? backend : `${backend} ${precision}`);
          for (const core of haveTorch ? torchCores : []) {
            const peakBefore = measurePeak();
            const env = { ...torchEnv };
            if (core !== 'auto') env.OPENBLAS_CORETYPE = core;
            const out = execFileSync(
              '/usr/bin/python3',
              [
                here.replace(/model-step\.bench\.ts$/, 'model_step_torch.py'),
                JSON.stringify(size),
                String(torchThreads),
                steps,
                variant,
                checkpoint,
                precision,
              ],
              { encoding: 'utf8', env },
            );
            const r = JSON.parse(out.trim().split('\n').at(-1)!) as StepResult;
            r.tokens = size.tokens;
            r.peak_gflops = peakBefore;
            keep(tag('torch'), r); // the fastest core type and round is the anchor
          }
          for (const backend of backends) {
            if (backend === 'cpu' && !cpuSizes.includes(name)) continue;
            if (round > 0 && backend !== 'native') continue;
            if (precision !== 'fp32' && backend !== 'native') continue; // bf16 products exist on native only
            const tokens = backend === 'cpu' ? Math.min(cpuTokens, size.tokens) : size.tokens;
            const threads = backend === 'wasm' ? wasmThreads : 1;
            const peakBefore = measurePeak();
            const r = runChild([
              'step',
              backend,
              variant,
              name,
              String(tokens),
              steps,
              String(threads),
              checkpoint,
              precision,
            ]);
            if ('error' in (r as object)) failed.set(tag(backend), (r as { error: string }).error);
            else keep(tag(backend), { ...(r as StepResult), peak_gflops: peakBefore });
          }
        }
      }
      const rows = [...best.entries()];
      const wasm = rows.find(([b]) => b === 'wasm')?.[1];
      for (const [key, r] of rows) {
        const [backend, precision = 'fp32'] = key.split(' ');
        const torch = best.get(precision === 'fp32' ? 'torch' : `torch ${precision}`);
        const vs = (ref?: StepResult) => (ref ? `${fmt(r.tokens_per_s / ref.tokens_per_s, 2)}x` : 'n/a');
        const gflops = (6 * r.params * r.tokens) / r.step_s / 1e9;
        const rowPeak = r.peak_gflops ?? null;
        table.push({
          gflops,
          ...(backend === 'native' && precision === 'fp32'
            ? {
                native: [
                  name,
                  variant,
                  torch ? r.tokens_per_s / torch.tokens_per_s : null,
                  rowPeak === null ? null : (100 * gflops) / rowPeak,
                ] as [string, Variant, number | null, number | null],
              }
            : {}),
          text: `| ${name} | ${variant} | ${fmt(r.params / 1e6, 2)}M (${fmt(r.trainable / 1e6, 2)}M) | ${backend} | ${precision} | ${r.corename ?? 'n/a'} | ${r.threads} | ${r.tokens} | ${fmt(r.step_s, 2)} | ${fmt(r.tokens_per_s, 0)} | ${fmt(gflops)} | ${rowPeak === null ? 'n/a' : fmt(rowPeak)} | ${rowPeak === null ? 'n/a' : `${fmt((100 * gflops) / rowPeak, 0)}%`} | %PEAK% | ${fmt(r.peak_rss_mb, 0)} | ${vs(torch)} | ${precision === 'fp32' ? vs(wasm) : 'n/a'} | ${r.loss === undefined ? '' : fmt(r.loss, 4)} |`,
        });
      }
      for (const [key, why] of failed) {
        if (!best.has(key))
          table.push({
            gflops: null,
            text: `| ${name} | ${variant} | | ${key} | | | | | | failed: ${why} | | | | | | | | |`,
          });
      }
    }
  }
  const peakEnd = measurePeak();
  const peak = peakStart === null || peakEnd === null ? null : Math.max(peakStart, peakEnd);
  log(`load average at end ${loadavg().map((x) => x.toFixed(1))}`);
  if (peak !== null) {
    log(
      `fp32 peak at end (best of 3): ${peakEnd!.toFixed(1)} GFLOP/s; "% row peak" divides by the peak measured right before the row's process, "% run peak" by the run's highest, ${peak.toFixed(1)}`,
    );
  }
  const lines = [
    '| size | variant | params (trainable) | backend | precision | OpenBLAS core | threads | tokens/step | step s | tokens/s | GFLOP/s | row fp32 peak | % row peak | % run peak | peak RSS MB | vs torch | vs wasm | loss |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...table.map(({ gflops, text }) =>
      text.replace('%PEAK%', peak === null || gflops === null ? 'n/a' : `${fmt((100 * gflops) / peak, 0)}%`),
    ),
  ];
  console.log(`\n${lines.join('\n')}`);
  const summary = table.flatMap(({ native }) =>
    native === undefined
      ? []
      : [
          `- ${native[0]} ${native[1] === 'fft' ? 'FFT' : 'LoRA'}: native fp32 ${native[2] === null ? 'n/a' : `${fmt(native[2], 2)}x`} PyTorch fp32, ${native[3] === null ? 'n/a' : `${fmt(native[3], 0)} %`} of the row's fp32 peak`,
        ],
  );
  const readme = opt('readme', '');
  if (readme !== '') writeReadme(readme, settings, lines, summary);
  if (args.includes('--gen')) {
    console.log('\nGeneration, size a, batch 1, 32-token prompt, 64 new tokens, greedy:');
    console.log('| backend | cached tok/s | uncached tok/s | speed-up |');
    console.log('| --- | --- | --- | --- |');
    for (const backend of backends) {
      const r = runChild(['gen', backend]) as Record<string, number>;
      console.log(
        `| ${backend} | ${fmt(r.cached_tok_s!)} | ${fmt(r.uncached_tok_s!)} | ${fmt(r.cached_tok_s! / r.uncached_tok_s!, 2)}x |`,
      );
    }
  }
}

/** Replaces the block between `path`'s model-step-table markers with this run. */
function writeReadme(path: string, settings: string[], table: string[], summary: string[]): void {
  const start = '<!-- model-step-table:start (tools/bench/model-step.bench.ts --readme writes this) -->';
  const end = '<!-- model-step-table:end -->';
  const text = readFileSync(path, 'utf8');
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i)
    throw new Error(`${path} has no ${start} ... ${end} markers: add them where the table belongs`);
  const commit =
    spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim() || 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], {
    encoding: 'utf8',
  }).stdout.trim();
  const command = `npx tsx --conditions=@loralab/source tools/bench/model-step.bench.ts ${args.join(' ')}`;
  const block = [
    start,
    `One run at commit ${commit}${dirty === '' ? '' : ' (with uncommitted changes)'}, written by \`--readme\`:`,
    '',
    '```sh',
    `${coreTypeAtStart === undefined ? 'env -u OPENBLAS_CORETYPE' : `OPENBLAS_CORETYPE=${coreTypeAtStart}`} ${command}`,
    '```',
    '',
    '```',
    ...settings,
    '```',
    '',
    ...table,
    '',
    'Native fp32 against PyTorch fp32, and the share of the fp32 peak, per row:',
    '',
    ...summary,
    end,
  ].join('\n');
  writeFileSync(path, text.slice(0, i) + block + text.slice(j + end.length));
  console.log(`\nwrote the table to ${path}`);
}

await main();
