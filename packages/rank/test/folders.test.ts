// Folder entry points with an in-memory opener standing in for @loralab/model's safetensors reader.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../src/errors.js';
import { analyseAdapterFolder, analyseModelFolders, readPeftAdapterConfig } from '../src/folders.js';
import { memoryWeightSource } from '../src/weight-source.js';
import { uniformMatrix } from './matrix-generators.js';

const root = mkdtempSync(join(tmpdir(), 'loralab-rank-folders-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dirs = {
  base: join(root, 'base'),
  ft: join(root, 'ft'),
  adapter: join(root, 'adapter'),
  empty: join(root, 'empty'),
};
for (const d of Object.values(dirs)) mkdirSync(d);
writeFileSync(
  join(dirs.adapter, 'adapter_config.json'),
  JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['q_proj'], use_rslora: false }),
);
const key = 'model.layers.0.self_attn.q_proj.weight';
const sources = {
  [dirs.base]: memoryWeightSource({ [key]: uniformMatrix(12, 10, 1) }),
  [dirs.ft]: memoryWeightSource({ [key]: uniformMatrix(12, 10, 2) }),
  [dirs.adapter]: memoryWeightSource({
    'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': uniformMatrix(2, 10, 3),
    'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight': uniformMatrix(12, 2, 4),
  }),
};
const open = async (dir: string) => {
  const s = sources[dir];
  if (!s) throw new Error(`no weights in ${dir}`);
  return s;
};

describe('folder entry points', () => {
  it('reads adapter_config.json and analyses base + adapter', async () => {
    expect((await readPeftAdapterConfig(dirs.adapter)).lora_alpha).toBe(4);
    const report = await analyseAdapterFolder(dirs.base, dirs.adapter, open, { workers: 0 });
    expect(report.kind).toBe('adapter');
    expect(report.matrices.map((m) => m.name)).toEqual([key]);
    expect(report.matrices[0]!.delta.numerical_rank).toBe(2);
  });

  it('analyses base vs finetuned folders', async () => {
    const report = await analyseModelFolders(dirs.base, dirs.ft, open, { workers: 0 });
    expect(report.kind).toBe('checkpoints');
    expect(report.matrices[0]!.delta.numerical_rank).toBe(10);
  });

  it('says which file is missing or malformed', async () => {
    await expect(readPeftAdapterConfig(dirs.empty)).rejects.toThrow(DataError);
    await expect(readPeftAdapterConfig(dirs.empty)).rejects.toThrow(/adapter_config\.json/);
    writeFileSync(join(dirs.empty, 'adapter_config.json'), '{"r": 2,');
    await expect(readPeftAdapterConfig(dirs.empty)).rejects.toThrow(/not valid JSON/);
  });
});
