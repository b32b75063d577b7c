// Byte flips in a checkpoint (adapter, model weights, optimizer moments, trainer state, configs) or in the base model
// are found when a run resumes or starts, by an IntegrityError naming the file (and the tensor); and the saved dtype.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  IntegrityError,
  initBackend,
  LlamaForCausalLM,
  openSafetensors,
  savePretrained,
} from '@loralab/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { type TrainConfig, train } from '../src/index.js';
import { countingDocs, TINY, tmp, writeDataset } from './helpers.js';

let data: string;
let base: string;

beforeAll(async () => {
  await initBackend('cpu');
  data = await writeDataset(await tmp(), countingDocs(40, 3));
  base = await tmp();
  const m = new LlamaForCausalLM(TINY, { seed: 4 });
  await savePretrained(m, base);
  m.dispose();
});

function config(over: Partial<TrainConfig>): TrainConfig {
  return {
    outputDir: '',
    method: 'full',
    task: 'cpt',
    model: { path: base },
    data: { train: data, seqLen: 8, microBatchSize: 2 },
    steps: 2,
    optimizer: { name: 'adamw', lr: 1e-3 },
    schedule: { name: 'constant' },
    saveEvery: 1,
    keepLast: 5,
    backend: 'cpu',
    ...over,
  };
}

/** The tensor whose bytes hold the file's last byte. */
async function lastTensor(path: string): Promise<string> {
  const f = await openSafetensors(path, { verify: false });
  const name = [...f.entries].sort((a, b) => b[1].end - a[1].end)[0]![0];
  await f.close();
  return name;
}

/** Flips one byte of `file`, runs `run`, restores the file; returns what `run` threw. */
async function withFlip(file: string, at: number, run: () => Promise<unknown>): Promise<unknown> {
  const original = readFileSync(file);
  const bytes = Buffer.from(original);
  const i = at < 0 ? bytes.length + at : at;
  bytes[i] = bytes[i]! ^ 0x04;
  writeFileSync(file, bytes);
  try {
    await run();
    return null;
  } catch (e) {
    return e;
  } finally {
    writeFileSync(file, original);
  }
}

const methods: [string, Partial<TrainConfig>, string[]][] = [
  ['full', {}, ['model.safetensors', 'config.json']],
  [
    'lora',
    { method: 'lora', lora: { r: 2, target_modules: ['q_proj', 'v_proj'] } },
    ['adapter_model.safetensors', 'adapter_config.json'],
  ],
];

describe('checkpoint integrity', () => {
  for (const [name, over, weights] of methods) {
    it(`${name}: a flipped byte in any checkpoint file stops the resume with an IntegrityError naming it`, {
      timeout: 60_000,
    }, async () => {
      const run = await tmp();
      await train(config({ ...over, outputDir: run }), { progress: false });
      const ckpt = join(run, 'checkpoints', 'step-1');
      const resume = async () =>
        train(config({ ...over, outputDir: await tmp(), resume: ckpt }), { progress: false });
      for (const file of [weights[0]!, 'optimizer.safetensors']) {
        const path = join(ckpt, file);
        const tensor = await lastTensor(path);
        const err = await withFlip(path, -1, resume);
        expect(err, file).toBeInstanceOf(IntegrityError);
        expect((err as IntegrityError).path, file).toBe(path);
        expect((err as IntegrityError).key, file).toBe(tensor);
        expect((err as Error).message).toContain(`tensor '${tensor}' does not match its recorded sha256`);
        // a flip in the header JSON (here inside the first tensor's name or dtype) is found too
        const header = await withFlip(path, 20, resume);
        expect(header, `${file} header`).toBeInstanceOf(IntegrityError);
        expect((header as Error).message).toMatch(/header \(length and JSON\) does not match/);
      }
      for (const file of [weights[1]!, 'trainer_state.json']) {
        const err = await withFlip(join(ckpt, file), 12, resume);
        expect(err, file).toBeInstanceOf(IntegrityError);
        expect((err as Error).message).toContain(`${file}: the sha256 does not match checksums.json`);
      }
      const record = await withFlip(join(ckpt, 'checksums.json'), 50, resume);
      expect(record).toBeInstanceOf(IntegrityError);
      // intact, it resumes
      expect((await resume()).steps).toBe(2);
    });
  }

  it('a flipped byte in the base model folder stops the run before training', {
    timeout: 60_000,
  }, async () => {
    const path = join(base, 'model.safetensors');
    const tensor = await lastTensor(path);
    const err = await withFlip(path, -2, async () =>
      train(config({ outputDir: await tmp(), steps: 1 }), { progress: false }),
    );
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as IntegrityError).key).toBe(tensor);
  });

  it('saveDtype: BF16 weights in checkpoints and final/, F32 optimizer moments; the run resumes from them', {
    timeout: 60_000,
  }, async () => {
    const run = await tmp();
    await train(config({ outputDir: run, saveDtype: 'BF16' }), { progress: false });
    const dtypes = async (path: string) => {
      const f = await openSafetensors(path);
      const out = new Set([...f.entries.values()].map((e) => e.dtype));
      await f.close();
      return [...out];
    };
    expect(await dtypes(join(run, 'final', 'model.safetensors'))).toEqual(['BF16']);
    expect(await dtypes(join(run, 'checkpoints', 'step-1', 'model.safetensors'))).toEqual(['BF16']);
    expect(await dtypes(join(run, 'checkpoints', 'step-1', 'optimizer.safetensors'))).toEqual(['F32']);
    expect(JSON.parse(readFileSync(join(run, 'final', 'config.json'), 'utf8')).torch_dtype).toBe('bfloat16');
    const r = await train(
      config({ outputDir: await tmp(), saveDtype: 'BF16', resume: join(run, 'checkpoints', 'step-1') }),
      { progress: false },
    );
    expect(r.steps).toBe(2);
    await expect(train(config({ outputDir: await tmp(), saveDtype: 'F8' as never }))).rejects.toThrow(
      /saveDtype/,
    );
  });
});
