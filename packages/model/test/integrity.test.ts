// Byte-flip tests: every single-byte corruption of a file loralab wrote is found on load, and names the tensor when
// it lies in a tensor's bytes; files from other tools get a finiteness (and optional plausibility) check.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  IntegrityError,
  LlamaForCausalLM,
  loadPretrained,
  openSafetensors,
  readChecksums,
  readSafetensors,
  recordChecksums,
  savePretrained,
  writeSafetensors,
} from '../src/index.js';
import { TINY, useBackend } from './helpers.js';

async function flipByte(path: string, at: number, mask = 0x01): Promise<Buffer> {
  const original = await readFile(path);
  const bytes = Buffer.from(original);
  bytes[at] = bytes[at]! ^ mask;
  await writeFile(path, bytes);
  return original;
}

/** Opens the file and reads every tensor; returns the error, or null when nothing was detected. */
async function loadAll(path: string): Promise<unknown> {
  try {
    const f = await openSafetensors(path);
    try {
      for (const name of f.entries.keys()) await f.readTyped(name);
    } finally {
      await f.close();
    }
    return null;
  } catch (e) {
    return e;
  }
}

describe('integrity of written files', () => {
  it('detects every single-byte flip of a recorded safetensors file, naming the tensor for data bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flip-'));
    const path = join(dir, 'w.safetensors');
    const tensors = {
      'a.weight': { shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => i / 10 - 0.3) },
      'b.bias': { shape: [5], data: Float32Array.from({ length: 5 }, (_, i) => -i), dtype: 'BF16' as const },
      step: { shape: [1], data: BigInt64Array.of(7n) },
    };
    const rec = await writeSafetensors(path, tensors, { format: 'pt' });
    await recordChecksums(dir, { 'w.safetensors': rec });
    expect(await loadAll(path)).toBeNull();
    const headerEnd = 8 + Number((await readFile(path)).readBigUInt64LE(0));
    const file = await openSafetensors(path);
    expect(file.verification).toBe('header+tensors');
    const spans = [...file.entries].map(([k, e]) => [k, headerEnd + e.begin, headerEnd + e.end] as const);
    await file.close();
    for (let at = 0; at < rec.size; at++) {
      const original = await flipByte(path, at);
      const err = await loadAll(path);
      await writeFile(path, original);
      expect(err, `flip at byte ${at}`).toBeInstanceOf(IntegrityError);
      const owner = spans.find(([, b, e]) => at >= b && at < e)?.[0];
      if (owner) {
        expect((err as IntegrityError).key, `flip at byte ${at}`).toBe(owner);
        expect((err as Error).message).toContain(`tensor '${owner}' does not match its recorded sha256`);
      } else expect((err as Error).message, `flip at byte ${at}`).toMatch(/header|size/);
    }
    // the same file without its checksums.json: data flips are still found by the per-tensor sha256
    await rm(join(dir, 'checksums.json'));
    const original = await flipByte(path, spans[0]![1] + 2);
    const err = await loadAll(path);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as IntegrityError).key).toBe('a.weight');
    await writeFile(path, original);
    await rm(dir, { recursive: true });
  }, 60_000); // ~1,000 flips, each a file write and a full verified read

  it('detects flips in a model folder: weights, config.json, the index and checksums.json itself', async () => {
    await useBackend('cpu');
    const dir = await mkdtemp(join(tmpdir(), 'flip-hf-'));
    const m = new LlamaForCausalLM(TINY, { seed: 3 });
    await savePretrained(m, join(dir, 'one'));
    await savePretrained(m, join(dir, 'sharded'), { maxShardBytes: 6000 });
    m.dispose();
    const record = await readChecksums(join(dir, 'sharded'));
    expect(Object.keys(record!.files)).toContain('model.safetensors.index.json');
    expect(Object.keys(record!.files)).toContain('config.json');
    const lastShard = Object.keys(record!.files)
      .filter((f) => f.startsWith('model-'))
      .at(-1)!;
    const cases: [string, number, RegExp][] = [
      ['one/model.safetensors', -5, /tensor '.*' does not match its recorded sha256/],
      ['one/model.safetensors', 30, /the header \(length and JSON\) does not match/],
      ['one/config.json', 20, /config\.json: the sha256 does not match/],
      ['one/checksums.json', 40, /checksums\.json/],
      ['sharded/model.safetensors.index.json', 60, /index\.json: the sha256 does not match/],
      [`sharded/${lastShard}`, -1, /does not match its recorded sha256/],
    ];
    for (const [file, at, re] of cases) {
      const path = join(dir, file);
      const size = (await readFile(path)).length;
      const original = await flipByte(path, at < 0 ? size + at : at);
      const err = await loadPretrained(join(dir, file.split('/')[0]!)).catch((e: unknown) => e);
      await writeFile(path, original);
      expect(err, file).toBeInstanceOf(IntegrityError);
      expect((err as Error).message, file).toMatch(re);
    }
    // intact folders still load, with no tensor left behind
    const before = tf.memory().numTensors;
    for (const sub of ['one', 'sharded']) (await loadPretrained(join(dir, sub))).model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await rm(dir, { recursive: true });
  });

  it('checks files without a record for NaN/Inf (and an opt-in bound), naming the tensor', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'foreign-'));
    const path = join(dir, 'foreign.safetensors');
    // a foreign file: written by hand, no sha256 in __metadata__, no checksums.json
    const header = Buffer.from(
      JSON.stringify({
        __metadata__: { format: 'pt' },
        good: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        bad: { dtype: 'F32', shape: [3], data_offsets: [8, 20] },
        big: { dtype: 'F32', shape: [1], data_offsets: [20, 24] },
      }),
    );
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    const data = Buffer.from(Float32Array.of(1, 2, 0.5, Number.NaN, 3, 1e30).buffer);
    await writeFile(path, Buffer.concat([len, header, data]));
    const f = await openSafetensors(path);
    expect(f.verification).toBe('none');
    expect(Array.from((await f.read('good')).data)).toEqual([1, 2]);
    const err = await f.read('bad').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as IntegrityError).key).toBe('bad');
    expect((err as Error).message).toMatch(/tensor 'bad' \(F32 \[3\]\) holds NaN at flat index 1/);
    expect((err as Error).message).toMatch(/checkFinite: 'never'/);
    expect((await f.read('big')).data[0]).toBe(Math.fround(1e30)); // finite: no bound by default
    await f.close();
    await expect(readSafetensors(path, ['big'], { maxAbs: 1e6 })).rejects.toThrow(
      /holds 1\.0000000150474662e\+30 at flat index 0, beyond maxAbs 1000000/,
    );
    expect((await readSafetensors(path, ['bad'], { checkFinite: 'never' })).tensors.get('bad')!.data[2]).toBe(
      3,
    );
    // a recorded file is trusted by its checksum (a NaN written on purpose loads), unless checkFinite: 'always'
    await writeSafetensors(join(dir, 'nan.safetensors'), {
      x: { shape: [1], data: Float32Array.of(Number.NaN) },
    });
    expect(
      Number.isNaN((await readSafetensors(join(dir, 'nan.safetensors'))).tensors.get('x')!.data[0]),
    ).toBe(true);
    await expect(
      readSafetensors(join(dir, 'nan.safetensors'), undefined, { checkFinite: 'always' }),
    ).rejects.toThrow(IntegrityError);
    // verify: false skips the checksums (and so checks finiteness instead)
    const rec = join(dir, 'nan.safetensors');
    await expect(readSafetensors(rec, undefined, { verify: false })).rejects.toThrow(/holds NaN/);
    await rm(dir, { recursive: true });
    expect(new IntegrityError('m', 'p', 'k', 'a', 'b')).toBeInstanceOf(CheckpointError);
  });
});
