// Empty inputs to writeTokenizedDataset: a file with no records (empty, blank lines, empty texts) is a DataError
// naming it, and a failed write leaves no half-written folder behind while keeping whatever was there before.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/errors.js';
import type { SourceConfig } from '../src/sources.js';
import { writeTokenizedDataset } from '../src/write-dataset.js';
import { smallTokenizer, tmp } from './helpers.js';

async function failure(config: Parameters<typeof writeTokenizedDataset>[1]): Promise<DataError> {
  const tok = await smallTokenizer();
  try {
    await writeTokenizedDataset(tok, config);
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error('expected a DataError');
}

describe('empty inputs', () => {
  const cases: [string, string, string, Partial<SourceConfig>][] = [
    ['an empty JSONL file', 'a.jsonl', '', { kind: 'jsonl' }],
    ['a JSONL file of blank lines', 'a.jsonl', '\n\n \n', { kind: 'jsonl' }],
    ['a JSONL file of empty texts', 'a.jsonl', '{"text": ""}\n{"text": "  "}\n', { kind: 'jsonl' }],
    ['an empty text file (one document per file)', 'a.txt', '', { kind: 'text' }],
    ['a text file of blank lines (per file)', 'a.txt', '\n\n  \n\t\n', { kind: 'text' }],
    ['a text file of blank lines (per line)', 'a.txt', '\n\n\n', { kind: 'text', unit: 'line' }],
    ['an empty JSON array', 'a.json', '[]', { kind: 'json' }],
  ];
  for (const [what, name, content, source] of cases) {
    it(`${what}: DataError naming the file; the output folder is not created`, async () => {
      const dir = await tmp();
      const file = join(dir, name);
      writeFileSync(file, content);
      const outDir = join(dir, 'out');
      const e = await failure({ outDir, source: { ...source, paths: [file] } as SourceConfig });
      expect(e.file).toBe(file);
      expect(e.message).toMatch(/holds no records/);
      expect(existsSync(outDir)).toBe(false);
    });
  }

  it('one empty file among good ones is named; an existing output folder keeps its files', async () => {
    const dir = await tmp();
    const good = join(dir, 'good.txt');
    const empty = join(dir, 'empty.txt');
    writeFileSync(good, 'The quick brown fox.\n');
    writeFileSync(empty, '');
    const outDir = join(dir, 'out');
    mkdirSync(outDir);
    writeFileSync(join(outDir, 'README'), 'mine\n');
    const e = await failure({ outDir, source: { kind: 'text', paths: [good, empty] } });
    expect(e.file).toBe(empty);
    expect(readdirSync(outDir)).toEqual(['README']);
  });

  it('every record skipped as malformed: no rows is a DataError, not an empty dataset', async () => {
    const dir = await tmp();
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, '{"content": "x"}\n{"content": "y"}\n');
    const e = await failure({
      outDir: join(dir, 'out'),
      source: { kind: 'jsonl', paths: [file] },
      onBadRecord: 'skip',
    });
    expect(e.message).toMatch(/no rows: all 2 records were skipped/);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('a rank whose share of the files is empty still completes the dataset', async () => {
    const tok = await smallTokenizer();
    const dir = await tmp();
    const file = join(dir, 'one.txt');
    writeFileSync(file, 'Only one file for two ranks.\n');
    const outDir = join(dir, 'out');
    const source: SourceConfig = { kind: 'text', paths: [file] };
    const r1 = await writeTokenizedDataset(tok, { outDir, source, rank: 1, worldSize: 2 });
    expect(r1.manifest).toBeNull();
    const r0 = await writeTokenizedDataset(tok, { outDir, source, rank: 0, worldSize: 2 });
    expect(r0.manifest?.totals.rows).toBe(1);
  });
});
