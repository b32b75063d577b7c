// Parquet rows as plain JSON-like values, read one row group at a time with hyparquet (every standard codec through
// hyparquet-compressors), only the columns asked for, and Parquet's logical types mapped as documented below.
import type { AsyncBuffer, Compressors, FileMetaData, SchemaElement, SchemaTree } from 'hyparquet';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { compressors as standardCompressors } from 'hyparquet-compressors';
import { DataError } from './errors.js';

/**
 * Which top-level columns to read: a list of names, or a function of the file's column names that returns the
 * list (for readers that choose by the file's layout). Undefined or null: every column. A name the file lacks
 * raises a DataError listing the columns it has.
 */
export type ColumnSelection = readonly string[] | ((available: string[]) => readonly string[] | null) | null;

export interface ParquetReadOptions {
  columns?: ColumnSelection;
  /** Decompressors by codec, merged over the standard ones (UNCOMPRESSED, SNAPPY, GZIP, BROTLI, ZSTD, LZ4, LZ4_RAW). */
  compressors?: Compressors;
}

/** A Parquet row with its 1-based index in the file. */
export interface ParquetRow {
  row: Record<string, unknown>;
  index: number;
}

const decoder = new TextDecoder();

/**
 * hyparquet-compressors' decompressors, except that an empty page is returned without decoding: its LZ4 reads the
 * empty block that writers emit for a zero-length page (the Hadoop-framed `00000000 00000001 00` of arrow-rs) as a
 * corrupt match and throws "lz4 offset out of range 0".
 */
const STANDARD_COMPRESSORS: Compressors = Object.fromEntries(
  Object.entries(standardCompressors).map(([codec, f]) => [
    codec,
    (input: Uint8Array, outputLength: number) =>
      outputLength === 0 ? new Uint8Array(0) : f!(input, outputLength),
  ]),
);

/**
 * Formats an epoch count as ISO 8601 with the unit's digits: `2024-02-29T12:31:36.789Z` (millis),
 * `...36.789012Z` (micros), `...36.789012345Z` (nanos); no `Z` when the column is not UTC-adjusted (naive).
 */
export function isoTimestamp(value: bigint, unit: 'MILLIS' | 'MICROS' | 'NANOS', utc: boolean): string {
  const perMs = unit === 'MILLIS' ? 1n : unit === 'MICROS' ? 1000n : 1000000n;
  let ms = value / perMs;
  let sub = value % perMs;
  if (sub < 0n) {
    ms -= 1n;
    sub += perMs;
  }
  const iso = new Date(Number(ms)).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const digits = unit === 'MILLIS' ? '' : sub.toString().padStart(unit === 'MICROS' ? 3 : 6, '0');
  return `${iso.slice(0, -1)}${digits}${utc ? 'Z' : ''}`;
}

/** Days since 1970-01-01 as `YYYY-MM-DD`. */
export function isoDate(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

/** An unscaled decimal (integer, bigint or big-endian two's complement bytes) as an exact string with `scale` digits. */
export function decimalString(unscaled: number | bigint | Uint8Array, scale: number): string {
  let v: bigint;
  if (unscaled instanceof Uint8Array) {
    v = 0n;
    for (const b of unscaled) v = (v << 8n) | BigInt(b);
    if (unscaled.length && unscaled[0]! & 0x80) v -= 1n << BigInt(unscaled.length * 8);
  } else v = BigInt(unscaled);
  const sign = v < 0n ? '-' : '';
  const digits = (v < 0n ? -v : v).toString();
  if (scale <= 0) return `${sign}${digits}${'0'.repeat(-scale)}`;
  const padded = digits.padStart(scale + 1, '0');
  return `${sign}${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
}

type Leaf =
  | { kind: 'timestamp'; unit: 'MILLIS' | 'MICROS' | 'NANOS'; utc: boolean }
  | { kind: 'date' }
  | { kind: 'decimal'; scale: number }
  | { kind: 'enum' }
  | null;

/** The logical type of a leaf this module decodes itself from the physical value (hyparquet gets it raw). */
function leafType(e: SchemaElement): Leaf {
  const lt = e.logical_type;
  if (lt?.type === 'TIMESTAMP') return { kind: 'timestamp', unit: lt.unit, utc: lt.isAdjustedToUTC };
  if (e.converted_type === 'TIMESTAMP_MILLIS') return { kind: 'timestamp', unit: 'MILLIS', utc: true };
  if (e.converted_type === 'TIMESTAMP_MICROS') return { kind: 'timestamp', unit: 'MICROS', utc: true };
  if (lt?.type === 'DATE' || e.converted_type === 'DATE') return { kind: 'date' };
  if (lt?.type === 'DECIMAL' || e.converted_type === 'DECIMAL') {
    return { kind: 'decimal', scale: (lt?.type === 'DECIMAL' ? lt.scale : e.scale) ?? 0 };
  }
  if (e.converted_type === 'ENUM' || lt?.type === 'ENUM') return { kind: 'enum' };
  return null;
}

/** The metadata with the annotations of the leaves decoded here removed, so hyparquet returns their raw values. */
function rawMetadata(metadata: FileMetaData): FileMetaData {
  const schema = metadata.schema.map((e) => {
    if (e.num_children || !leafType(e)) return e;
    const { converted_type: _c, logical_type: _l, ...rest } = e;
    return rest as SchemaElement;
  });
  return { ...metadata, schema };
}

/** A JSON-safe integer: a number when exact, else its decimal string. */
function integer(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v.toString();
}

function leafValue(v: unknown, leaf: Leaf): unknown {
  if (v === null || v === undefined) return null;
  if (leaf) {
    switch (leaf.kind) {
      case 'timestamp':
        return isoTimestamp(BigInt(v as number | bigint), leaf.unit, leaf.utc);
      case 'date':
        return isoDate(Number(v));
      case 'decimal':
        return decimalString(v as number | bigint | Uint8Array, leaf.scale);
      case 'enum':
        return v instanceof Uint8Array ? decoder.decode(v) : v;
    }
  }
  if (typeof v === 'bigint') return integer(v);
  if (v instanceof Uint8Array) return Array.from(v);
  if (ArrayBuffer.isView(v))
    return Array.from(v as unknown as ArrayLike<number | bigint>, (x) => leafValue(x, null));
  return v;
}

/** Converts a value assembled by hyparquet along its schema node. */
function toPlain(v: unknown, node: SchemaTree): unknown {
  if (v === null || v === undefined) return null;
  const e = node.element;
  if (!node.children.length) {
    if (e.repetition_type === 'REPEATED' && Array.isArray(v)) return v.map((x) => leafValue(x, leafType(e)));
    return leafValue(v, leafType(e));
  }
  const first = node.children[0]!;
  if (
    e.converted_type === 'LIST' &&
    node.children.length === 1 &&
    first.element.repetition_type === 'REPEATED'
  ) {
    const item = first.children.length === 1 ? first.children[0]! : first;
    return Array.isArray(v)
      ? v.map((x) =>
          item === first && !first.children.length ? leafValue(x, leafType(first.element)) : toPlain(x, item),
        )
      : v;
  }
  if ((e.converted_type === 'MAP' || e.converted_type === 'MAP_KEY_VALUE') && first.children.length === 2) {
    const valueNode = first.children.find((c) => c.element.name === 'value') ?? first.children[1]!;
    if (v instanceof Map)
      return Object.fromEntries([...v].map(([k, x]) => [String(k), toPlain(x, valueNode)]));
    if (typeof v === 'object') {
      return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, toPlain(x, valueNode)]));
    }
    return v;
  }
  if (e.repetition_type === 'REPEATED' && Array.isArray(v)) {
    return v.map((x) => toPlain(x, { ...node, element: { ...e, repetition_type: 'REQUIRED' } }));
  }
  if (typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const child of node.children) {
    const name = child.element.name;
    if (name in o) out[name] = toPlain(o[name], child);
  }
  return out;
}

function selectColumns(
  selection: ColumnSelection | undefined,
  available: string[],
  file: string,
): string[] | null {
  if (!selection) return null;
  const chosen = typeof selection === 'function' ? selection(available) : selection;
  if (!chosen) return null;
  const missing = chosen.filter((c) => !available.includes(c));
  if (missing.length) {
    throw new DataError(
      `no column ${missing.map((m) => JSON.stringify(m)).join(', ')} in this Parquet file; its columns are ${available.map((a) => JSON.stringify(a)).join(', ')} (choose one with "field" / --field, or map columns)`,
      { file },
    );
  }
  return [...chosen];
}

/**
 * Yields the rows of a Parquet file in order, one row group in memory at a time, reading and decompressing only
 * the selected columns. Values (the mapping of pyarrow's types to JSON-like JavaScript values):
 * strings as strings; binary without a string annotation as arrays of byte values; int64 as numbers, or
 * decimal strings outside ±2^53; TIMESTAMP (millis, micros, nanos) as ISO 8601 strings with the unit's
 * digits, ending in `Z` when UTC-adjusted and without a zone when naive; legacy INT96 timestamps as naive
 * nanosecond strings; DATE as `YYYY-MM-DD`; DECIMAL as exact strings with `scale` fraction digits; lists as
 * arrays; structs and maps as objects; nulls as null.
 */
export async function* readParquetRows(
  file: string,
  options: ParquetReadOptions = {},
): AsyncGenerator<ParquetRow> {
  let index = 0;
  let buffer: AsyncBuffer;
  let metadata: FileMetaData;
  try {
    buffer = await asyncBufferFromFile(file);
    metadata = await parquetMetadataAsync(buffer);
  } catch (cause) {
    throw new DataError(`cannot read Parquet metadata (not a Parquet file?): ${(cause as Error).message}`, {
      file,
      cause,
    });
  }
  const tree = parquetSchema(metadata);
  const available = tree.children.map((c) => c.element.name);
  const columns = selectColumns(options.columns, available, file);
  const nodes = new Map(tree.children.map((c) => [c.element.name, c]));
  const raw = rawMetadata(metadata);
  const compressors = { ...STANDARD_COMPRESSORS, ...options.compressors };
  const parsers = {
    // Only INT96 reaches this parser: the TIMESTAMP annotations are removed and decoded here.
    timestampFromNanoseconds: (nanos: bigint) => isoTimestamp(nanos, 'NANOS', false),
  };
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({
        file: buffer,
        metadata: raw,
        rowStart: start,
        rowEnd: end,
        compressors,
        parsers: parsers as never,
        utf8: false,
        ...(columns && { columns }),
      });
    } catch (cause) {
      const message = (cause as Error).message;
      const hint = /compression|codec|decompress/i.test(message)
        ? ' (the codec is not one of UNCOMPRESSED, SNAPPY, GZIP, BROTLI, ZSTD, LZ4, LZ4_RAW: rewrite the file with one of them, or pass "compressors")'
        : '';
      throw new DataError(`cannot read Parquet row group starting at row ${start + 1}: ${message}${hint}`, {
        file,
        line: start + 1,
        cause,
      });
    }
    for (const r of rows) {
      const row: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r)) {
        const node = nodes.get(k);
        row[k] = node ? toPlain(v, node) : v;
      }
      yield { row, index: ++index };
    }
    start = end;
  }
}
