// Folders written by loralab carry checksums.json: a flipped byte in an adapter's config or weights, or in a model
// folder's weights, stops the analysis with @loralab/model's IntegrityError instead of analysing corrupt numbers.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checksumOf, IntegrityError, recordChecksums, writeSafetensors } from '@loralab/model';
import { afterAll, describe, expect, it } from 'vitest';
import { readPeftAdapterConfig } from '../src/folders.js';
import { openSafetensorsFolder } from '../src/safetensors-source.js';

const root = mkdtempSync(join(tmpdir(), 'loralab-rank-integrity-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function flip(path: string, at: number): Buffer {
  const original = readFileSync(path);
  const bytes = Buffer.from(original);
  const i = at < 0 ? bytes.length + at : at;
  bytes[i] = bytes[i]! ^ 0x08;
  writeFileSync(path, bytes);
  return original;
}

describe('verified reads', () => {
  it('a flipped byte in adapter_config.json or adapter_model.safetensors is an IntegrityError', async () => {
    const config = `${JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['q_proj'] })}\n`;
    writeFileSync(join(root, 'adapter_config.json'), config);
    const key = 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight';
    const weights = await writeSafetensors(join(root, 'adapter_model.safetensors'), {
      [key]: { shape: [4, 2], data: Float32Array.from({ length: 8 }, (_, i) => i / 8) },
    });
    await recordChecksums(root, {
      'adapter_config.json': checksumOf(config),
      'adapter_model.safetensors': weights,
    });
    expect((await readPeftAdapterConfig(root)).r).toBe(2);
    const source = await openSafetensorsFolder(root);
    expect((await source.matrix(key)).rows).toBe(4);

    let original = flip(join(root, 'adapter_config.json'), 10);
    await expect(readPeftAdapterConfig(root)).rejects.toThrow(IntegrityError);
    writeFileSync(join(root, 'adapter_config.json'), original);

    original = flip(join(root, 'adapter_model.safetensors'), -3);
    const err = await source.matrix(key).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as IntegrityError).key).toBe(key);
    writeFileSync(join(root, 'adapter_model.safetensors'), original);
    expect((await source.matrix(key)).cols).toBe(2);
  });
});
