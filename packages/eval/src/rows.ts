// Reading benchmark rows from JSON Lines (plain or gzip) or a Hugging Face `save_to_disk` folder of Arrow
// IPC stream files (`data-0000i-of-0000N.arrow`, listed in `state.json`'s `_data_files` when present).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC, Vector } from 'apache-arrow';
import { DataError } from './errors.js';
import { isRecord, type JsonlRow, readJsonl } from './jsonl.js';

/** Rows of a JSONL(.gz) file, or of every Arrow file of a Hugging Face dataset folder (row numbers 1-based). */
export function readRows(path: string): JsonlRow[] {
  if (!existsSync(path)) throw new DataError('no such file or folder', { file: path });
  if (!statSync(path).isDirectory()) return readJsonl(path);
  const rows: JsonlRow[] = [];
  for (const file of arrowFiles(path)) {
    let table: ReturnType<typeof tableFromIPC>;
    try {
      table = tableFromIPC(readFileSync(file));
    } catch (cause) {
      throw new DataError(`not an Arrow IPC file (${(cause as Error).message})`, { file, cause });
    }
    for (const row of table) rows.push({ value: toPlain(row), line: rows.length + 1 });
  }
  return rows;
}

/** The folder's Arrow files: `state.json`'s `_data_files` in order, else every `*.arrow` by name. */
function arrowFiles(dir: string): string[] {
  const state = join(dir, 'state.json');
  if (existsSync(state)) {
    const parsed: unknown = JSON.parse(readFileSync(state, 'utf8'));
    const listed = isRecord(parsed) && Array.isArray(parsed._data_files) ? parsed._data_files : undefined;
    const names = listed?.map((f) => (isRecord(f) ? f.filename : undefined));
    if (!names || names.some((n) => typeof n !== 'string')) {
      throw new DataError('expected "_data_files": [{"filename": ...}] (Hugging Face save_to_disk)', {
        file: state,
      });
    }
    return (names as string[]).map((n) => join(dir, n));
  }
  const names = readdirSync(dir)
    .filter((n) => n.endsWith('.arrow'))
    .sort();
  if (names.length === 0)
    throw new DataError('expected Arrow files (*.arrow) or a state.json', { file: dir });
  return names.map((n) => join(dir, n));
}

/** Arrow values to plain JSON-like values: struct rows to objects, lists to arrays, int64 to numbers. */
function toPlain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Vector) return [...value].map(toPlain);
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>, toPlain);
  if (typeof value === 'object' && !(value instanceof Date)) {
    const obj =
      typeof (value as { toJSON?: unknown }).toJSON === 'function'
        ? (value as { toJSON(): object }).toJSON()
        : value;
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, toPlain(v)]));
  }
  return value;
}
