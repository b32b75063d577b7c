// @loralab/model benchmark: what checksum verification costs on load (and hashing on save), measured in the same run.
// A 256 MiB F32 file (64 tensors of 1 Mi floats) and its BF16 twin are written once; then, interleaved round after
// round (fastest round reported; the files sit in the page cache, so this is the worst case for the relative cost):
// - load all tensors: verify (checksums.json header + per-tensor sha256) vs no check vs finiteness only (foreign path)
// - save: writeSafetensors (per-tensor + whole-file sha256) vs writing the same bytes with no hashing
// - node:crypto sha256 throughput on one 64 MiB buffer (the reference figure)
// Run: npx tsx --conditions=@loralab/source tools/bench/safetensors-integrity.ts
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  openSafetensors,
  recordChecksums,
  type TensorToWrite,
  type VerifyOptions,
  writeFileAtomic,
  writeSafetensors,
} from '@loralab/model';

const TENSORS = 64;
const N = 1 << 20;
const ROUNDS = 4;
const MIB = 2 ** 20;

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
const bytesF32 = TENSORS * N * 4;

async function loadAll(path: string, options: VerifyOptions) {
  const f = await openSafetensors(path, options);
  for (const name of f.entries.keys()) await f.read(name);
  await f.close();
}

const big = new Uint8Array(64 * MIB);
const raw = [...tensors.values()].map((t) => new Uint8Array(t.data.buffer as ArrayBuffer));
const cases: Record<string, () => Promise<unknown>> = {
  'load F32: verified (header + tensor sha256)': () => loadAll(f32, {}),
  'load F32: no check': () => loadAll(f32, { verify: false, checkFinite: 'never' }),
  'load F32: finiteness only (foreign file)': () => loadAll(f32, { verify: false }),
  'load BF16: verified': () => loadAll(bf16, {}),
  'load BF16: no check': () => loadAll(bf16, { verify: false, checkFinite: 'never' }),
  'save F32: writeSafetensors (tensor sha256)': () => writeSafetensors(join(dir, 'w.safetensors'), tensors),
  'save F32: + whole-file sha256': () =>
    writeSafetensors(join(dir, 'w.safetensors'), tensors, {}, { wholeFileSha256: true }),
  'save F32: same bytes, no hashing': () => writeFileAtomic(join(dir, 'w.bin'), raw),
  'sha256 of 64 MiB (node:crypto)': async () => createHash('sha256').update(big).digest(),
};

const best: Record<string, number> = {};
for (let round = 0; round <= ROUNDS; round++) {
  for (const [name, run] of Object.entries(cases)) {
    const t0 = performance.now();
    await run();
    const ms = performance.now() - t0;
    if (round > 0) best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, ms); // round 0 warms up
  }
}
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; ${TENSORS} tensors, ${bytesF32 / MIB} MiB F32`,
);
for (const [name, ms] of Object.entries(best)) {
  const mb = name.startsWith('sha256') ? 64 : name.includes('BF16') ? bytesF32 / 2 / MIB : bytesF32 / MIB;
  console.log(
    `${name.padEnd(46)} ${ms.toFixed(0).padStart(6)} ms  ${(mb / 1024 / (ms / 1000)).toFixed(2)} GiB/s`,
  );
}
const ratio = (a: string, b: string) => (best[a]! / best[b]!).toFixed(2);
console.log(
  `verified / unchecked load, F32:  ${ratio('load F32: verified (header + tensor sha256)', 'load F32: no check')}x`,
);
console.log(`verified / unchecked load, BF16: ${ratio('load BF16: verified', 'load BF16: no check')}x`);
console.log(
  `finiteness / unchecked load, F32: ${ratio('load F32: finiteness only (foreign file)', 'load F32: no check')}x`,
);
console.log(
  `hashing / plain save, F32:       ${ratio('save F32: writeSafetensors (hashing)', 'save F32: same bytes, no hashing')}x`,
);
await rm(dir, { recursive: true });
