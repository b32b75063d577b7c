// @loralab/model benchmark: what checksum verification costs on load (and hashing on save), measured in the same run.
// A 256 MiB F32 file (64 tensors of 1 Mi floats), its BF16 twin and a 67M-parameter model folder are written once;
// then, interleaved round after round (fastest round reported; the files sit in the page cache, so reading is at
// memory speed: the worst case for the relative cost of hashing):
// - read all tensors: verified (checksums.json header + per-tensor sha256) vs no check vs finiteness only (foreign)
// - loadPretrained of the model folder (tensors copied into the model) with and without verification
// - save: writeSafetensors (per-tensor sha256), + whole-file sha256, vs the same bytes written with no hashing
// - node:crypto sha256 throughput on one 64 MiB buffer (the reference figure)
// Run: npx tsx --conditions=@loralab/source tools/bench/safetensors-integrity.ts
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  initBackend,
  LlamaForCausalLM,
  loadPretrained,
  openSafetensors,
  recordChecksums,
  savePretrained,
  type TensorToWrite,
  type VerifyOptions,
  writeFileAtomic,
  writeSafetensors,
} from '@loralab/model';

const TENSORS = 64;
const N = 1 << 20;
const ROUNDS = 3;
const MIB = 2 ** 20;

const backend = await initBackend();
const dir = await mkdtemp(join(tmpdir(), 'bench-integrity-'));
const tensors = new Map<string, TensorToWrite>();
for (let t = 0; t < TENSORS; t++) {
  const data = new Float32Array(N);
  for (let i = 0; i < N; i++) data[i] = Math.sin(i * 0.001 + t) * 0.02;
  tensors.set(`model.layers.${t}.weight`, { shape: [1024, 1024], data });
}
const f32 = join(dir, 'f32.safetensors');
const bf16 = join(dir, 'bf16.safetensors');
await recordChecksums(dir, {
  'f32.safetensors': await writeSafetensors(f32, tensors),
  'bf16.safetensors': await writeSafetensors(bf16, tensors, {}, { dtype: 'BF16' }),
});
const modelDir = join(dir, 'model');
const model = new LlamaForCausalLM(
  {
    vocab_size: 8192,
    hidden_size: 1024,
    intermediate_size: 2752,
    num_hidden_layers: 4,
    num_attention_heads: 16,
    num_key_value_heads: 16,
    tie_word_embeddings: false,
  },
  { seed: 1 },
);
const modelParams = [...model.parameters().values()].reduce((a, p) => a + p.variable.size, 0);
await savePretrained(model, modelDir);
model.dispose();

async function readAll(path: string, options: VerifyOptions) {
  const f = await openSafetensors(path, options);
  for (const name of f.entries.keys()) await f.read(name);
  await f.close();
}
async function loadModel(options: VerifyOptions) {
  (await loadPretrained(modelDir, options)).model.dispose();
}

const raw = [...tensors.values()].map((t) => new Uint8Array(t.data.buffer as ArrayBuffer));
const big = new Uint8Array(64 * MIB);
const bytesF32 = TENSORS * N * 4;
const cases: Record<string, [mib: number, run: () => Promise<unknown>]> = {
  'read F32: verified': [bytesF32 / MIB, () => readAll(f32, {})],
  'read F32: no check': [bytesF32 / MIB, () => readAll(f32, { verify: false, checkFinite: 'never' })],
  'read F32: finiteness only (foreign file)': [bytesF32 / MIB, () => readAll(f32, { verify: false })],
  'read BF16: verified': [bytesF32 / 2 / MIB, () => readAll(bf16, {})],
  'read BF16: no check': [bytesF32 / 2 / MIB, () => readAll(bf16, { verify: false, checkFinite: 'never' })],
  'loadPretrained: verified': [(modelParams * 4) / MIB, () => loadModel({})],
  'loadPretrained: no check': [
    (modelParams * 4) / MIB,
    () => loadModel({ verify: false, checkFinite: 'never' }),
  ],
  'save F32: tensor sha256 (default)': [
    bytesF32 / MIB,
    () => writeSafetensors(join(dir, 'w.safetensors'), tensors),
  ],
  'save F32: + whole-file sha256': [
    bytesF32 / MIB,
    () => writeSafetensors(join(dir, 'w.safetensors'), tensors, {}, { wholeFileSha256: true }),
  ],
  'save F32: same bytes, no hashing': [bytesF32 / MIB, () => writeFileAtomic(join(dir, 'w.bin'), raw)],
  'sha256 of 64 MiB (node:crypto)': [64, async () => createHash('sha256').update(big).digest()],
};

const best: Record<string, number> = {};
for (let round = 0; round <= ROUNDS; round++) {
  for (const [name, [, run]] of Object.entries(cases)) {
    const t0 = performance.now();
    await run();
    const ms = performance.now() - t0;
    if (round > 0) best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, ms); // round 0 warms up
  }
}
const load = loadavg().map((l) => l.toFixed(2));
console.log(
  `backend ${backend.name}; load average ${load.join(' ')}; model ${(modelParams / 1e6).toFixed(1)}M params`,
);
for (const [name, [mib]] of Object.entries(cases)) {
  const ms = best[name]!;
  console.log(
    `${name.padEnd(42)} ${ms.toFixed(0).padStart(6)} ms  ${(mib / 1024 / (ms / 1000)).toFixed(2)} GiB/s`,
  );
}
const ratio = (a: string, b: string) => `${(best[a]! / best[b]!).toFixed(2)}x`;
console.log(`verified / unchecked read, F32:      ${ratio('read F32: verified', 'read F32: no check')}`);
console.log(`verified / unchecked read, BF16:     ${ratio('read BF16: verified', 'read BF16: no check')}`);
console.log(
  `finiteness / unchecked read, F32:    ${ratio('read F32: finiteness only (foreign file)', 'read F32: no check')}`,
);
console.log(
  `verified / unchecked loadPretrained: ${ratio('loadPretrained: verified', 'loadPretrained: no check')}`,
);
console.log(
  `hashed / plain save, F32:            ${ratio('save F32: tensor sha256 (default)', 'save F32: same bytes, no hashing')}`,
);
console.log(
  `+ whole-file / plain save, F32:      ${ratio('save F32: + whole-file sha256', 'save F32: same bytes, no hashing')}`,
);
await rm(dir, { recursive: true });
