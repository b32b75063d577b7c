// Quickstart of @loralab/train: a tiny Llama learns a counting task by full finetuning and by LoRA, through the
// same loop; then a run is stopped and resumed. The dataset is written as @loralab/data shards + manifest.json.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MANIFEST_FORMAT, MANIFEST_VERSION, ShardWriter } from '@loralab/data';
import { type TrainConfig, train } from '@loralab/train';

/** Documents [BOS, a, a+1, ..., a+23, EOS] over ids 3..63, as a one-shard tokenized dataset. */
async function countingDataset(n: number, seed: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'counting-'));
  const w = new ShardWriter(join(dir, 'data-00000-of-00001.arrow'), {
    tokenDtype: 'uint16',
    lossMask: false,
  });
  for (let i = 0; i < n; i++)
    w.addRow([1, ...Array.from({ length: 24 }, (_, t) => 3 + ((((i * 37 + seed) % 61) + t) % 61)), 2]);
  const s = w.finish();
  const shard = { file: s.file, rows: s.rows, tokens: s.tokens, sha256: s.sha256, bytes: s.bytes };
  const manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    kind: 'text',
    columns: { input_ids: 'uint16' },
    tokenizer: { sha256: 'none', vocabSize: 64, bos: 1, eos: 2, pad: 0 },
    shards: [shard],
    totals: { shards: 1, rows: s.rows, tokens: s.tokens, bytes: s.bytes },
    source: { config: {} },
    truncated: { dropped: 0, cut: 0 },
    config: {},
    configHash: 'none',
    worldSize: 1,
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

const [trainSet, evalSet] = [await countingDataset(400, 0), await countingDataset(40, 17)];
const config = (method: 'full' | 'lora', outputDir: string): TrainConfig => ({
  outputDir,
  method,
  task: 'cpt',
  model: {
    init: {
      vocab_size: 64,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
    },
  },
  lora:
    method === 'lora'
      ? { r: 8, lora_alpha: 16, target_modules: 'all-linear', modules_to_save: ['lm_head'] }
      : undefined,
  data: { train: trainSet, eval: evalSet, seqLen: 32, microBatchSize: 8 },
  steps: 120,
  optimizer: { name: 'adamw', lr: method === 'lora' ? 1e-2 : 3e-3, weightDecay: 0.01 },
  schedule: { name: 'cosine', warmupRatio: 0.1, minLrRatio: 0.1 },
  logEvery: 20,
  saveEvery: 60,
  backend: 'wasm',
});

for (const method of ['full', 'lora'] as const) {
  const out = await mkdtemp(join(tmpdir(), `run-${method}-`));
  const r = await train(config(method, out), { progress: false });
  console.log(method, r.steps, r.tokensSeen, r.finalLoss.toFixed(3), r.finalEvalLoss!.toFixed(3));
  console.log(' ', readdirSync(out).join(' '), '|', readdirSync(r.finalDir).join(' '));
}

// Stop a run after 60 steps (an abort writes a checkpoint), then resume it: the losses continue exactly.
const out = await mkdtemp(join(tmpdir(), 'run-resume-'));
const stop = new AbortController();
await train(config('full', out), {
  progress: false,
  signal: stop.signal,
  onLog: (m) => m.step === 60 && stop.abort(),
}).catch((e: Error) => console.log(e.name, e.message));
const r = await train({ ...config('full', out), resume: 'auto' }, { progress: false });
console.log('resumed from', r.resumedFrom?.slice(out.length), r.steps, r.finalEvalLoss!.toFixed(3));
console.log(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').slice(-2).join('\n'));
