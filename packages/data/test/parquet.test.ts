// Parquet files of every codec, written by an independent writer (arrow-rs through parquet-wasm; see
// fixtures/parquet/make-fixtures.mjs), read with the right values: timestamps of each unit with and without a
// zone, dates, decimals, nullable columns, list<struct<role, content>>, three row groups; only the columns asked
// for are decompressed, and row groups are read one at a time.

import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Compressors } from 'hyparquet';
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';
import { compressors as standard } from 'hyparquet-compressors';
import { readParquet } from 'parquet-wasm';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/errors.js';
import { decimalString, isoDate, isoTimestamp, readParquetRows } from '../src/parquet-records.js';
import { readSource } from '../src/sources.js';
import { tmp } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/parquet/', import.meta.url));
const CODECS = ['uncompressed', 'snappy', 'gzip', 'brotli', 'zstd', 'lz4_raw', 'lz4'];
const file = (codec: string) => join(FIXTURES, `types-${codec}.parquet`);

/**
 * The rows, written out by hand from the raw values in make-fixtures.mjs (epoch counts and day numbers worked out
 * independently: 1709209896789 ms is 2024-02-29T12:31:36.789Z; day 19782 is 2024-02-29; -719162 is 0001-01-01).
 */
const ROWS = [
  {
    id: 0,
    text: 'hello',
    ts_ms_utc: '1970-01-01T00:00:00.000Z',
    ts_us_naive: '1970-01-01T00:00:00.000000',
    ts_ns_utc: '1970-01-01T00:00:00.000000000Z',
    day: '1970-01-01',
    price: '123.45',
    big: '12345678901234567890.1234',
    score: 0.5,
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello.' },
    ],
  },
  {
    id: 1,
    text: 'héllo wörld ✓',
    ts_ms_utc: '2024-02-29T12:31:36.789Z',
    ts_us_naive: '2024-02-29T12:31:36.789012',
    ts_ns_utc: '2024-02-29T12:31:36.789012345Z',
    day: '2024-02-29',
    price: '-0.01',
    big: '-0.0001',
    score: null,
    messages: [
      { role: 'user', content: 'Two plus two?' },
      { role: 'assistant', content: 'Four.' },
    ],
  },
  {
    id: 2,
    text: null,
    ts_ms_utc: '1969-12-31T23:59:59.999Z',
    ts_us_naive: '1969-12-31T23:59:58.999999',
    ts_ns_utc: '1969-12-31T23:59:59.999999999Z',
    day: '1969-12-31',
    price: '0.00',
    big: '0.0000',
    score: -1.25,
    messages: [],
  },
  {
    id: 3,
    text: '',
    ts_ms_utc: null,
    ts_us_naive: '1970-01-02T00:00:00.000000',
    ts_ns_utc: '1970-01-01T00:00:00.000000001Z',
    day: '2000-02-29',
    price: '999999.99',
    big: '1.0000',
    score: 3,
    messages: [{ role: 'user', content: 'ünïcode ✓' }],
  },
  {
    id: 4,
    text: 'line\nbreak',
    ts_ms_utc: '2000-02-29T00:00:00.000Z',
    ts_us_naive: null,
    ts_ns_utc: '1970-01-01T00:00:00.999999999Z',
    day: null,
    price: '1.00',
    big: '-9876543210987654.3210',
    score: null,
    messages: [
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b' },
      { role: 'user', content: 'c' },
      { role: 'assistant', content: 'd' },
    ],
  },
  {
    id: 5,
    text: 'sixth',
    ts_ms_utc: '1970-01-01T00:00:00.001Z',
    ts_us_naive: '1970-01-01T00:00:00.000001',
    ts_ns_utc: null,
    day: '9999-12-31',
    price: '-2.50',
    big: '0.0005',
    score: 1e-10,
    messages: [{ role: 'user', content: 'x' }],
  },
  {
    id: 6,
    text: 'seventh',
    ts_ms_utc: '9999-12-31T23:59:59.999Z',
    ts_us_naive: '2009-02-13T23:31:30.123456',
    ts_ns_utc: '2023-11-14T22:13:20.000000001Z',
    day: '0001-01-01',
    price: '0.07',
    big: '0.0001',
    score: 42,
    messages: [{ role: 'assistant', content: null }],
  },
];

async function rowsOf(path: string, options: Parameters<typeof readParquetRows>[1] = {}) {
  const out: Array<Record<string, unknown>> = [];
  for await (const { row } of readParquetRows(path, options)) out.push(row);
  return out;
}

/** The standard decompressors, counting calls and output bytes. */
function counting(): { compressors: Compressors; calls: number; bytes: number } {
  const c = { compressors: {} as Compressors, calls: 0, bytes: 0 };
  for (const [codec, f] of Object.entries(standard)) {
    c.compressors[codec as keyof Compressors] = (input: Uint8Array, n: number) => {
      c.calls++;
      c.bytes += n;
      return f!(input, n);
    };
  }
  return c;
}

describe('Parquet', () => {
  for (const codec of CODECS) {
    it(`reads ${codec} with the right values, through readParquetRows and readSource`, async () => {
      const meta = await parquetMetadataAsync(await asyncBufferFromFile(file(codec)));
      expect(meta.row_groups.length).toBe(3);
      const wantCodec = codec === 'uncompressed' ? 'UNCOMPRESSED' : codec.toUpperCase();
      expect(meta.row_groups[0]!.columns.map((c) => c.meta_data!.codec)).toContain(wantCodec);
      expect(await rowsOf(file(codec))).toEqual(ROWS);
      const records = [];
      for await (const r of readSource({ kind: 'parquet', paths: [file(codec)] })) records.push(r);
      expect(records.map((r) => r.value)).toEqual(ROWS);
      expect(records.map((r) => r.line)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      // The values are JSON: a JSON round trip changes nothing (no Date, bigint or typed array left).
      expect(JSON.parse(JSON.stringify(records.map((r) => r.value)))).toEqual(ROWS);
    });
  }

  it('reads the same values from Arrow IPC (the file as arrow-rs reads it into Arrow)', async () => {
    const ipc = readParquet(readFileSync(file('zstd'))).intoIPCStream();
    const path = join(await tmp(), 'types.arrow');
    await writeFile(path, ipc);
    const records = [];
    for await (const r of readSource({ kind: 'arrow', paths: [path] })) records.push(r.value);
    expect(records).toEqual(ROWS);
  });

  it('decompresses only the columns asked for', async () => {
    const all = counting();
    await rowsOf(file('zstd'), { compressors: all.compressors });
    const one = counting();
    const rows = await rowsOf(file('zstd'), { columns: ['text'], compressors: one.compressors });
    expect(rows).toEqual(ROWS.map((r) => ({ text: r.text })));
    // One decompression per page of the text column (a dictionary page and a data page per row group), whose
    // sizes add up to at most its chunks' uncompressed sizes (page headers included); all columns: many more.
    const meta = await parquetMetadataAsync(await asyncBufferFromFile(file('zstd')));
    const chunks = meta.row_groups.map(
      (g) => g.columns.find((c) => c.meta_data!.path_in_schema[0] === 'text')!.meta_data!,
    );
    const pages = chunks.reduce((s, m) => s + (m.dictionary_page_offset !== undefined ? 2 : 1), 0);
    const textBytes = chunks.reduce((s, m) => s + Number(m.total_uncompressed_size), 0);
    expect(one.calls).toBe(pages);
    expect(one.bytes).toBeLessThanOrEqual(textBytes);
    expect(all.calls).toBeGreaterThan(5 * one.calls);
    // A function of the file's columns chooses them too (how instruction layouts project).
    const seen: string[][] = [];
    const chosen = await rowsOf(file('zstd'), {
      columns: (available) => {
        seen.push(available);
        return ['messages'];
      },
    });
    expect(seen[0]).toEqual([
      'id',
      'text',
      'ts_ms_utc',
      'ts_us_naive',
      'ts_ns_utc',
      'day',
      'price',
      'big',
      'score',
      'messages',
    ]);
    expect(chosen.map((r) => Object.keys(r))).toEqual(ROWS.map(() => ['messages']));
  });

  it('reads one row group at a time', async () => {
    const c = counting();
    const it = readParquetRows(file('zstd'), { compressors: c.compressors });
    await it.next(); // row 1: only the first group (rows 1-3) is decoded
    const afterFirst = c.calls;
    await it.next();
    await it.next();
    expect(c.calls).toBe(afterFirst);
    await it.next(); // row 4 starts the second group
    expect(c.calls).toBeGreaterThan(afterFirst);
    await it.return(undefined);
    const whole = counting();
    await rowsOf(file('zstd'), { compressors: whole.compressors });
    expect(afterFirst * 2).toBeLessThan(whole.calls);
  });

  it('names a missing column with the columns the file has, and an unreadable codec with the fix', async () => {
    await expect(rowsOf(file('zstd'), { columns: ['content'] })).rejects.toThrow(
      /no column "content" in this Parquet file; its columns are "id", "text", .* "messages"/,
    );
    const err = await rowsOf(file('zstd'), { compressors: { ZSTD: undefined } }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toMatch(/types-zstd\.parquet:1: .*ZSTD/);
    await expect(rowsOf(join(FIXTURES, 'make-fixtures.mjs'))).rejects.toThrow(/not a Parquet file/);
  });

  it('formats timestamps, dates and decimals exactly', () => {
    expect(isoTimestamp(-1n, 'NANOS', true)).toBe('1969-12-31T23:59:59.999999999Z');
    expect(isoTimestamp(1n, 'MICROS', false)).toBe('1970-01-01T00:00:00.000001');
    expect(isoTimestamp(-86_400_001n, 'MILLIS', true)).toBe('1969-12-30T23:59:59.999Z');
    expect(isoDate(-719162)).toBe('0001-01-01');
    expect(decimalString(-5n, 3)).toBe('-0.005');
    expect(decimalString(12, 0)).toBe('12');
    expect(decimalString(new Uint8Array([0xff, 0xfe]), 1)).toBe('-0.2'); // -2
    expect(decimalString(new Uint8Array([0x00, 0x80]), 2)).toBe('1.28'); // 128
    expect(decimalString(2n ** 100n, 4)).toBe('126765060022822940149670320.5376');
  });
});
