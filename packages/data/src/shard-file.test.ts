import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecordBatchReader } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { tmp } from '../test/helpers.js';
import { readShard, ShardWriter } from './shard-file.js';

describe('ShardWriter', () => {
  it('writes uint32 tokens and a loss mask over several record batches, readable back exactly', async () => {
    const dir = await tmp();
    const path = join(dir, 'x.arrow');
    const w = new ShardWriter(path, { tokenDtype: 'uint32', lossMask: true }, 5);
    const rows = [[70000, 1, 2], [3], [100000, 200000, 4, 5, 6, 7], []];
    for (const r of rows)
      w.addRow(
        r,
        r.map((x) => x % 2),
      );
    expect(existsSync(path)).toBe(false); // only the temporary file exists until finish()
    const s = w.finish();
    expect(existsSync(`${path}.tmp`)).toBe(false);
    expect(s).toMatchObject({ file: 'x.arrow', rows: 4, tokens: 10 });
    const batches = [...RecordBatchReader.from(readFileSync(path))];
    expect(batches.length).toBeGreaterThan(1);
    expect(String(batches[0]!.schema.fields[0]!.type)).toBe('List<Uint32>');
    const d = await readShard(path, s);
    expect(d.values).toBeInstanceOf(Uint32Array);
    const got = rows.map((_, i) => Array.from(d.values.subarray(d.offsets[i]!, d.offsets[i + 1]!)));
    expect(got).toEqual(rows);
    expect(Array.from(d.mask!)).toEqual(rows.flat().map((x) => x % 2));
  });
});
