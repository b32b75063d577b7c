// Benchmark of @loralab/model (issue 4): one training step (forward, backward, AdamW) in tokens/s, achieved GFLOP/s
// (6 · parameters · tokens / time) and peak RSS for sizes a, b, c on the wasm and cpu backends, next to the identical
// model in PyTorch (Debian python3-torch, run in the same invocation) when it is importable; plus generation
// tokens/s with and without the KV cache. Each measurement runs in its own process so peak RSS is its own.
//
//   npx tsx tools/bench/model-step.bench.ts [--sizes a,b,c] [--backends wasm,cpu] [--steps 1]
//        [--cpu-tokens 512] [--cpu-sizes a,b] [--torch-threads 1,2] [--wasm-threads 1,2] [--no-gen]
//   The PyTorch anchor inherits OPENBLAS_CORETYPE (Debian's OpenBLAS misdetects this CPU; see DESIGN.md); its value
//   is printed with the table.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, generate, initBackend, LlamaForCausalLM } from '../../packages/model/src/index.js';
import { type BenchSize, benchConfig, SIZES } from './model-sizes.js';

const here = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};

interface StepResult {
  params: number;
  step_s: number;
  tokens_per_s: number;
  tokens: number;
  threads: number | null;
  peak_rss_mb: number;
}

/** Minimal AdamW (decoupled weight decay), enough to time the update; the trainer package owns the real one. */
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
  size: BenchSize,
  tokens: number,
  steps: number,
  wasmThreads: number,
): Promise<StepResult> {
  const info = await initBackend(backend, { wasmThreads });
  const model = new LlamaForCausalLM(benchConfig(size), { seed: 0 });
  const params = [...model.parameters().values()];
  const nParams = params.reduce((a, p) => a + p.variable.size, 0);
  const B = Math.max(1, Math.floor(tokens / size.seq));
  const ids = {
    data: Int32Array.from({ length: B * size.seq }, (_, i) => (i * 7919) % size.vocab),
    shape: [B, size.seq] as [number, number],
  };
  const adamw = createAdamW(params.map((p) => p.variable));
  const step = () => {
    const { loss, grads, numTokens } = model.lossAndGradients(ids, ids);
    const scaled = params.map((p) => tf.div(grads.get(p.name)!, numTokens));
    adamw(scaled);
    loss.dataSync();
    tf.dispose([loss, ...grads.values(), ...scaled]);
  };
  step(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const dt = (performance.now() - t0) / 1000 / steps;
  return {
    params: nParams,
    step_s: dt,
    tokens: B * size.seq,
    tokens_per_s: (B * size.seq) / dt,
    threads: info.threads,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
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
    throw new Error(`child ${childArgs.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  }
}

const fmt = (x: number, d = 1) => x.toFixed(d);

async function main() {
  if (args[0] === '--child') {
    const [kind, backend, sizeName, tokens, steps, threads] = args.slice(1);
    const result =
      kind === 'gen'
        ? await childGen(backend as BackendName)
        : await childStep(
            backend as BackendName,
            SIZES[sizeName!]!,
            Number(tokens),
            Number(steps),
            Number(threads),
          );
    console.log(JSON.stringify(result));
    process.exit(0);
  }
  const sizes = opt('sizes', 'a,b,c').split(',');
  const backends = opt('backends', 'wasm,cpu').split(',');
  const steps = opt('steps', '1');
  const cpuTokens = Number(opt('cpu-tokens', '512'));
  const cpuSizes = opt('cpu-sizes', 'a,b').split(',');
  const torchThreads = opt('torch-threads', '1,2').split(',').map(Number);
  const wasmThreads = opt('wasm-threads', '1').split(',').map(Number);
  const haveTorch = torchAvailable();
  console.log(
    `node ${process.version}, ${steps} timed step(s) after one warm-up; cpu backend runs ${cpuTokens} tokens/step (it is ~50x slower)`,
  );
  const load = (await import('node:os')).loadavg().map((x) => x.toFixed(1));
  console.log(
    `OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? '(unset)'}; load average at start ${load.join(' ')}`,
  );
  if (!haveTorch)
    console.log(
      'PyTorch column skipped: /usr/bin/python3 cannot import torch (apt-get install python3-torch)',
    );
  console.log(
    '\n| size | params | backend | threads | tokens/step | step s | tokens/s | GFLOP/s | peak RSS MB | vs torch (same threads) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const name of sizes) {
    const size = SIZES[name]!;
    const torch = new Map<number, StepResult>();
    if (haveTorch) {
      for (const th of torchThreads) {
        const out = execFileSync(
          '/usr/bin/python3',
          [
            here.replace(/model-step\.bench\.ts$/, 'model_step_torch.py'),
            JSON.stringify(size),
            String(th),
            steps,
          ],
          { encoding: 'utf8' },
        );
        const r = JSON.parse(out.trim().split('\n').at(-1)!) as StepResult & { threads: number };
        r.tokens = size.tokens;
        torch.set(th, r);
        console.log(
          `| ${name} | ${fmt(r.params / 1e6, 2)}M | torch | ${r.threads} | ${size.tokens} | ${fmt(r.step_s, 2)} | ${fmt(r.tokens_per_s, 0)} | ${fmt((6 * r.params * size.tokens) / r.step_s / 1e9)} | ${fmt(r.peak_rss_mb, 0)} | 1.00 |`,
        );
      }
    }
    const runs: [string, number][] = backends.flatMap((b) =>
      b === 'wasm' ? wasmThreads.map((t): [string, number] => [b, t]) : [[b, 1] as [string, number]],
    );
    for (const [backend, threads] of runs) {
      if (backend === 'cpu' && !cpuSizes.includes(name)) {
        console.log(
          `| ${name} | | cpu | | | | | | | skipped (--cpu-sizes): one step would take over 10 minutes |`,
        );
        continue;
      }
      const tokens = backend === 'cpu' ? Math.min(cpuTokens, size.tokens) : size.tokens;
      const r = runChild(['step', backend, name, String(tokens), steps, String(threads)]) as StepResult;
      const ref = torch.get(r.threads ?? 1);
      const ratio = ref ? fmt(r.tokens_per_s / ref.tokens_per_s, 3) : 'n/a';
      console.log(
        `| ${name} | ${fmt(r.params / 1e6, 2)}M | ${backend} | ${r.threads} | ${r.tokens} | ${fmt(r.step_s, 2)} | ${fmt(r.tokens_per_s, 0)} | ${fmt((6 * r.params * r.tokens) / r.step_s / 1e9)} | ${fmt(r.peak_rss_mb, 0)} | ${ratio} |`,
      );
    }
  }
  if (!args.includes('--no-gen')) {
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

await main();
