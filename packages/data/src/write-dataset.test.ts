import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { smallTokenizer, tmp } from '../test/helpers.js';
import { ConfigError, DataError } from './errors.js';
import { readManifest } from './manifest.js';
import { readShard, tokenDtypeFor } from './shard-file.js';
import { readSource, recordText, type SourceConfig } from './sources.js';
import { writeTokenizedDataset } from './write-dataset.js';

const BROWN: SourceConfig = { kind: 'brown', categories: ['r'] };

async function rowsOf(dir: string): Promise<number[][]> {
  const m = await readManifest(dir);
  const rows: number[][] = [];
  for (const s of m.shards) {
    const d = await readShard(join(dir, s.file), s);
    for (let i = 0; i < d.rows; i++)
      rows.push(Array.from(d.values.subarray(d.offsets[i]!, d.offsets[i + 1]!)));
  }
  return rows;
}

function filesOf(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .filter((f) => !f.startsWith('.'))
      .map((f) => [f, readFileSync(join(dir, f)).toString('base64')]),
  );
}

describe('writeTokenizedDataset', () => {
  it('writes shards in the save_to_disk layout whose rows are the encoded documents plus EOS', async () => {
    const tok = await smallTokenizer();
    const dir = await tmp();
    const { manifest } = await writeTokenizedDataset(tok, {
      outDir: dir,
      source: BROWN,
      shardTokens: 20_000,
    });
    expect(manifest).not.toBeNull();
    const m = manifest!;
    expect(m.shards.length).toBeGreaterThan(2);
    expect(m.shards.map((s) => s.file)).toEqual(
      m.shards.map(
        (_, i) => `data-${String(i).padStart(5, '0')}-of-${String(m.shards.length).padStart(5, '0')}.arrow`,
      ),
    );
    expect(m.columns).toEqual({ input_ids: 'uint16' });
    expect(m.tokenizer).toMatchObject({ vocabSize: 512, eos: 1, bos: 0, pad: 2 });
    expect(m.tokenizer.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(m.totals.rows).toBe(9);
    expect(m.source).toMatchObject({ records: 9, skipped: 0, config: BROWN });
    // Arrow IPC *stream* files (continuation marker first), not the ARROW1 file format.
    const head = readFileSync(join(dir, m.shards[0]!.file)).subarray(0, 4);
    expect([...head]).toEqual([255, 255, 255, 255]);
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    expect(state._data_files).toEqual(m.shards.map((s) => ({ filename: s.file })));
    expect(Object.keys(state).sort()).toEqual([
      '_data_files',
      '_fingerprint',
      '_format_columns',
      '_format_kwargs',
      '_format_type',
      '_output_all_columns',
      '_split',
    ]);
    const info = JSON.parse(readFileSync(join(dir, 'dataset_info.json'), 'utf8'));
    expect(info.features).toEqual({
      input_ids: { feature: { dtype: 'uint16', _type: 'Value' }, _type: 'Sequence' },
    });
    const expected: number[][] = [];
    for await (const r of readSource(BROWN))
      expected.push([
        ...(await tok.encode(recordText(BROWN, r.value) as string, { addSpecialTokens: false })).ids,
        1,
      ]);
    expect(await rowsOf(dir)).toEqual(expected);
    expect(m.totals.tokens).toBe(expected.flat().length);
  });

  it('reads its own output back as a Hugging Face save_to_disk source', async () => {
    const tok = await smallTokenizer();
    const dir = await tmp();
    await writeTokenizedDataset(tok, { outDir: dir, source: BROWN, shardTokens: 20_000 });
    const rows: number[][] = [];
    for await (const r of readSource({ kind: 'hf', path: dir }))
      rows.push((r.value as { input_ids: number[] }).input_ids);
    expect(rows).toEqual(await rowsOf(dir));
  });

  it('picks the narrowest token type', () => {
    expect(tokenDtypeFor(512)).toBe('uint16');
    expect(tokenDtypeFor(65536)).toBe('uint16');
    expect(tokenDtypeFor(65537)).toBe('uint32');
  });

  it('resumes after a crash and produces the same files as an uninterrupted run', async () => {
    const tok = await smallTokenizer();
    const whole = await tmp();
    await writeTokenizedDataset(tok, {
      outDir: whole,
      source: BROWN,
      shardTokens: 8_000,
      encodeBatchSize: 2,
    });
    const crashed = await tmp();
    let shards = 0;
    const crash = () => {
      if (++shards === 2) throw new Error('simulated crash');
    };
    await expect(
      writeTokenizedDataset(
        tok,
        { outDir: crashed, source: BROWN, shardTokens: 8_000, encodeBatchSize: 2 },
        { onShard: crash },
      ),
    ).rejects.toThrow('simulated crash');
    expect(existsSync(join(crashed, 'manifest.json'))).toBe(false);
    // A half-written shard left by a kill is overwritten.
    writeFileSync(join(crashed, 'part-00000-00002.arrow.tmp'), 'garbage');
    const seen: number[] = [];
    const result = await writeTokenizedDataset(
      tok,
      { outDir: crashed, source: BROWN, shardTokens: 8_000, encodeBatchSize: 3 },
      { onShard: (s) => seen.push(s.position) },
    );
    expect(result.resumed).toBe(2);
    expect(result.written).toBeGreaterThan(0);
    expect(seen[0]).toBeGreaterThan(1); // did not start from the first record
    expect(filesOf(crashed)).toEqual(filesOf(whole));
    // A rerun of a finished dataset does nothing; one with another config is refused.
    expect(
      (await writeTokenizedDataset(tok, { outDir: crashed, source: BROWN, shardTokens: 8_000 })).written,
    ).toBe(0);
    await expect(
      writeTokenizedDataset(tok, { outDir: crashed, source: BROWN, shardTokens: 9_000 }),
    ).rejects.toThrow(DataError);
  });

  it('raises a DataError naming the shard when its sha256 or row count disagrees with the manifest', async () => {
    const tok = await smallTokenizer();
    const dir = await tmp();
    const m = (await writeTokenizedDataset(tok, { outDir: dir, source: BROWN, shardTokens: 20_000 }))
      .manifest!;
    const s = m.shards[1]!;
    const path = join(dir, s.file);
    const bytes = readFileSync(path);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20]! + 1) % 256;
    writeFileSync(path, bytes);
    const err = await readShard(path, s).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.shard).toBe(s.file);
    expect(err.message).toMatch(/sha256/);
    const good = m.shards[0]!;
    await expect(readShard(join(dir, good.file), { ...good, rows: good.rows + 1 })).rejects.toThrow(
      new RegExp(`shard ${good.file}: holds ${good.rows} rows, the manifest says ${good.rows + 1}`),
    );
  });

  it('applies the bad-record policy with file and line', async () => {
    const tok = await smallTokenizer();
    const dir = await tmp();
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, '{"text": "one"}\n{"text": 2}\nnot json\n{"text": "four"}\n');
    const source: SourceConfig = { kind: 'jsonl', paths: [file] };
    await expect(writeTokenizedDataset(tok, { outDir: join(dir, 'a'), source })).rejects.toThrow(`${file}:2`);
    const m = (await writeTokenizedDataset(tok, { outDir: join(dir, 'b'), source, onBadRecord: 'skip' }))
      .manifest!;
    expect(m.totals.rows).toBe(2);
    expect(m.source).toMatchObject({ records: 2, skipped: 2 });
    expect(m.source.skippedExamples.map((e) => e.line)).toEqual([2, 3]);
  });

  it('splits files across ranks, finishes when the last rank does, and keeps ranks disjoint', async () => {
    const tok = await smallTokenizer();
    const single = await tmp();
    await writeTokenizedDataset(tok, { outDir: single, source: BROWN, shardTokens: 20_000 });
    const dir = await tmp();
    const r1 = await writeTokenizedDataset(tok, {
      outDir: dir,
      source: BROWN,
      shardTokens: 20_000,
      rank: 1,
      worldSize: 2,
    });
    expect(r1.manifest).toBeNull();
    expect(existsSync(join(dir, '.loralab-progress', 'rank-00001-of-00002.done'))).toBe(true);
    const r0 = await writeTokenizedDataset(tok, {
      outDir: dir,
      source: BROWN,
      shardTokens: 20_000,
      rank: 0,
      worldSize: 2,
    });
    expect(r0.manifest?.worldSize).toBe(2);
    const rows = (await rowsOf(dir)).map((r) => r.join(','));
    const all = (await rowsOf(single)).map((r) => r.join(','));
    expect(new Set(rows).size).toBe(rows.length);
    expect([...rows].sort()).toEqual([...all].sort());
  });

  it('rejects bad configs', async () => {
    const tok = await smallTokenizer();
    await expect(writeTokenizedDataset(tok, { outDir: 'x', source: BROWN, shardTokens: 0 })).rejects.toThrow(
      ConfigError,
    );
    await expect(
      writeTokenizedDataset(tok, { outDir: 'x', source: BROWN, shardTokns: 5 } as never),
    ).rejects.toThrow(/write.shardTokns/);
    await expect(
      writeTokenizedDataset(tok, { outDir: 'x', source: BROWN, kind: 'chat', maxLength: 9 }),
    ).rejects.toThrow(/truncation/);
  });
});
