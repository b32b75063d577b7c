// Benchmark of @loralab/train (issue 6): step time and peak RSS of full finetuning vs LoRA (r = 16, alpha 32, all
// linear modules) through `train()` itself (loader, forward/backward with per-block checkpointing, clipping, AdamW,
// metrics), at the model benchmark's sizes a, b, c, each run in its own child process so that its peak RSS is its
// own. Beside the measured figures: the theoretical memory of weights, gradients and AdamW state (float32), and the
// tensor bytes held at the end of training (weights + adapter + optimizer state) as tfjs counts them.
//
//   npx tsx --conditions=@loralab/source tools/bench/train.bench.ts [--sizes a,b,c] [--steps 2] [--seqs 1]
//        [--backend wasm]
//   --seqs: sequences (of the size's seq length) per step, or `full` for the model benchmark's batch (tokens / seq:
//   8192 tokens at a and b, 4096 at c).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_FORMAT, MANIFEST_VERSION, ShardWriter } from '@loralab/data';
import { train } from '@loralab/train';
import * as tf from '@tensorflow/tfjs-core';
import { type BenchSize, benchConfig, SIZES } from './model-sizes.js';

const here = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};

interface Result {
  method: 'full' | 'lora';
  size: string;
  tokens: number;
  totalParams: number;
  trainableParams: number;
  step_s: number;
  tensor_mb: number;
  peak_rss_mb: number;
}

/** A random-token dataset of `rows` documents of `len` tokens (text shards + manifest, as @loralab/data writes). */
function writeRandomDataset(dir: string, vocab: number, rows: number, len: number): void {
  const file = 'data-00000-of-00001.arrow';
  const w = new ShardWriter(join(dir, file), { tokenDtype: 'uint16', lossMask: false });
  let a = 12345;
  for (let r = 0; r < rows; r++) {
    w.addRow(
      Array.from({ length: len }, () => {
        a = (a * 1103515245 + 12345) >>> 0;
        return 3 + (a % (vocab - 3));
      }),
    );
  }
  const s = w.finish();
  const manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    kind: 'text',
    tokenizer: { sha256: 'bench', vocabSize: vocab, bos: 1, eos: 2, pad: 0 },
    columns: { input_ids: 'uint16' },
    shards: [{ file, rows: s.rows, tokens: s.tokens, sha256: s.sha256, bytes: s.bytes }],
    totals: { shards: 1, rows: s.rows, tokens: s.tokens, bytes: s.bytes },
    source: { config: { kind: 'bench' } },
    truncated: { dropped: 0, cut: 0 },
    config: {},
    configHash: 'bench',
    worldSize: 1,
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
}

async function child(
  method: 'full' | 'lora',
  size: BenchSize,
  steps: number,
  seqs: number,
  backend: string,
): Promise<Result> {
  const work = mkdtempSync(join(tmpdir(), 'train-bench-'));
  try {
    const data = join(work, 'data');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(data);
    // Enough tokens for warm-up + steps, one epoch.
    writeRandomDataset(data, size.vocab, (steps + 2) * seqs * 2, size.seq);
    const times: number[] = [];
    let totalParams = 0;
    let trainableParams = 0;
    let tensorBytes = 0;
    await train(
      {
        outputDir: join(work, 'run'),
        method,
        task: 'cpt',
        model: { init: benchConfig(size), seed: 0 },
        ...(method === 'lora' ? { lora: { r: 16, lora_alpha: 32, target_modules: 'all-linear' } } : {}),
        data: { train: data, seqLen: size.seq, microBatchSize: seqs, shuffle: false },
        steps: steps + 1,
        optimizer: { name: 'adamw', lr: 1e-4 },
        schedule: { name: 'constant' },
        logEvery: 1,
        backend,
      },
      {
        progress: false,
        onLog: () => times.push(performance.now()),
        evaluators: [
          {
            name: 'memory',
            async run({ model }) {
              for (const p of model.parameters().values()) totalParams += p.variable.size;
              for (const p of model.trainableParameters()) trainableParams += p.variable.size;
              if (method === 'lora') totalParams += trainableParams; // the adapters, beside the base
              tensorBytes = tf.memory().numBytes;
              return {};
            },
          },
        ],
      },
    );
    // Step 1 is the warm-up; step time = mean interval between the following log lines.
    const step_s = (times[steps]! - times[0]!) / 1000 / steps;
    return {
      method,
      size: size.name,
      tokens: seqs * size.seq,
      totalParams,
      trainableParams,
      step_s,
      tensor_mb: tensorBytes / 2 ** 20,
      peak_rss_mb: (process.resourceUsage().maxRSS * 1024) / 2 ** 20,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function runChild(childArgs: string[]): Result {
  const conditions = process.execArgv.some((a) => a.includes('@loralab/source'))
    ? []
    : ['--conditions=@loralab/source'];
  const r = spawnSync(process.execPath, [...process.execArgv, ...conditions, here, '--child', ...childArgs], {
    timeout: 1800_000,
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as Result;
  } catch {
    throw new Error(`child ${childArgs.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  }
}

if (args[0] === '--child') {
  const [, method, sizeName, steps, seqs, backend] = args;
  const r = await child(method as 'full' | 'lora', SIZES[sizeName!]!, Number(steps), Number(seqs), backend!);
  console.log(JSON.stringify(r));
  process.exit(0);
}

const sizes = opt('sizes', 'a,b,c').split(',');
const steps = opt('steps', '2');
const seqs = opt('seqs', '1');
const backend = opt('backend', 'wasm');
const mb = (x: number) => x.toFixed(0);
const M = (x: number) => `${(x / 1e6).toFixed(2)}M`;
console.log(
  `train() steps (after 1 warm-up): ${steps}; backend ${backend}; AdamW fp32; LoRA r=16 alpha=32 all-linear`,
);
console.log(
  '| size | method | tokens/step | params (trainable) | step s | LoRA/full time | weights MB | grads MB | AdamW MB | sum MB | tensors at end MB | peak RSS MB | LoRA/full RSS |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const name of sizes) {
  const size = SIZES[name]!;
  const n = seqs === 'full' ? String(Math.max(1, Math.floor(size.tokens / size.seq))) : seqs;
  const full = runChild(['full', name, steps, n, backend]);
  const lora = runChild(['lora', name, steps, n, backend]);
  for (const r of [full, lora]) {
    // fp32: weights 4 B per parameter (base + adapters), gradients 4 B and AdamW moments 8 B per trainable one.
    const w = (4 * r.totalParams) / 2 ** 20;
    const g = (4 * r.trainableParams) / 2 ** 20;
    const o = (8 * r.trainableParams) / 2 ** 20;
    const lf = r.method === 'lora';
    console.log(
      `| ${name} | ${r.method} | ${r.tokens} | ${M(r.totalParams)} (${M(r.trainableParams)}) | ${r.step_s.toFixed(2)} | ${lf ? (r.step_s / full.step_s).toFixed(2) : '1.00'} | ${mb(w)} | ${mb(g)} | ${mb(o)} | ${mb(w + g + o)} | ${mb(r.tensor_mb)} | ${mb(r.peak_rss_mb)} | ${lf ? (r.peak_rss_mb / full.peak_rss_mb).toFixed(2) : '1.00'} |`,
    );
  }
}
