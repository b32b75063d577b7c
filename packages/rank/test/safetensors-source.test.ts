import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensors } from '@loralab/model';
import { afterAll, describe, expect, it } from 'vitest';
import { analyseAdapter, analyseCheckpoints } from '../src/analyse.js';
import { analyseAdapterFolder, analyseModelFolders, readPeftAdapterConfig } from '../src/folders.js';
import type { Matrix } from '../src/matrix.js';
import { openSafetensorsFolder } from '../src/safetensors-source.js';
import { memoryWeightSource } from '../src/weight-source.js';
import { uniformMatrix } from './matrix-generators.js';

const root = mkdtempSync(join(tmpdir(), 'loralab-rank-st-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const q = 'model.layers.0.self_attn.q_proj.weight';
const up = 'model.layers.1.mlp.up_proj.weight';
const toWrite = (m: Matrix) => ({ shape: [m.rows, m.cols], data: Float32Array.from(m.data) });
const base = { [q]: uniformMatrix(12, 10, 1), [up]: uniformMatrix(16, 10, 2) };
const finetuned = { [q]: uniformMatrix(12, 10, 3), [up]: uniformMatrix(16, 10, 4) };
const adapter = {
  'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': uniformMatrix(2, 10, 5),
  'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight': uniformMatrix(12, 2, 6),
};
const f32 = (ms: Record<string, Matrix>) =>
  Object.fromEntries(Object.entries(ms).map(([k, m]) => [k, { ...m, data: Float32Array.from(m.data) }]));

describe('openSafetensorsFolder', () => {
  it('analyses model folders (single file and sharded) as the same weights in memory', async () => {
    const [b, ft] = [join(root, 'base'), join(root, 'ft')];
    mkdirSync(b);
    mkdirSync(ft);
    await writeSafetensors(join(b, 'model.safetensors'), { [q]: toWrite(base[q]), [up]: toWrite(base[up]) });
    // The finetuned folder is sharded, as Hugging Face writes large checkpoints.
    await writeSafetensors(join(ft, 'model-00001-of-00002.safetensors'), { [q]: toWrite(finetuned[q]) });
    await writeSafetensors(join(ft, 'model-00002-of-00002.safetensors'), { [up]: toWrite(finetuned[up]) });
    const weight_map = { [q]: 'model-00001-of-00002.safetensors', [up]: 'model-00002-of-00002.safetensors' };
    writeFileSync(join(ft, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map }));

    expect((await (await openSafetensorsFolder(ft)).names()).sort()).toEqual([up, q].sort());
    const fromFiles = await analyseModelFolders(b, ft, openSafetensorsFolder, { workers: 0 });
    const inMemory = await analyseCheckpoints(
      memoryWeightSource(f32(base)),
      memoryWeightSource(f32(finetuned)),
      {
        workers: 0,
      },
    );
    expect(fromFiles.matrices.map((m) => m.name)).toEqual([q, up]);
    expect(fromFiles.matrices).toEqual(inMemory.matrices);
  });

  it('analyses a PEFT adapter folder', async () => {
    const dir = join(root, 'adapter');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'adapter_config.json'),
      JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['q_proj'] }),
    );
    await writeSafetensors(
      join(dir, 'adapter_model.safetensors'),
      Object.fromEntries(Object.entries(adapter).map(([k, m]) => [k, toWrite(m)])),
    );
    const fromFiles = await analyseAdapterFolder(join(root, 'base'), dir, openSafetensorsFolder, {
      workers: 0,
    });
    const inMemory = await analyseAdapter(
      memoryWeightSource(f32(base)),
      memoryWeightSource(f32(adapter)),
      await readPeftAdapterConfig(dir),
      { workers: 0 },
    );
    expect(fromFiles.matrices).toEqual(inMemory.matrices);
    expect(fromFiles.matrices[0]!.delta.numerical_rank).toBe(2);
  });

  it('names the folder or tensor when something is missing', async () => {
    await expect(openSafetensorsFolder(join(root, 'nowhere'))).rejects.toThrow(/neither model\.safetensors/);
    const source = await openSafetensorsFolder(join(root, 'base'));
    await expect(source.matrix('model.norm.weight')).rejects.toThrow(/no tensor named "model\.norm\.weight"/);
  });
});
