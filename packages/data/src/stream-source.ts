// Sources produced by the caller: documents or records from an (async) iterable, tokenized as they arrive,
// without a copy of the corpus in memory or on disk (no intermediate JSONL).
import { ConfigError, rejectUnknownKeys } from './errors.js';
import type { Partition, SourceItem } from './sources.js';

/** Records of a stream: strings (documents) or objects (a text field, or an instruction record for `chat`). */
export type StreamRecords = AsyncIterable<unknown> | Iterable<unknown>;

/**
 * A source that is a stream of records in the caller's hands. `writeTokenizedDataset` reads it once, in order,
 * keeping at most one encode batch of records in memory.
 */
export interface StreamSource {
  kind: 'stream';
  /**
   * Names the stream in the manifest and in the dataset's `configHash`. A rerun with the same name resumes a
   * killed write: it skips, without tokenizing, the records of the shards already written, so the stream must
   * yield the same records in the same order; give another name when the records change.
   */
  name: string;
  /**
   * The records, or a function that opens them (called once per write). Strings are documents; objects give
   * their `field` (`kind: 'text'`) or are instruction records (`kind: 'chat'`: Alpaca, ShareGPT or `messages`).
   * With `worldSize` > 1 every rank opens the whole stream and keeps records `i % worldSize === rank`.
   */
  records: StreamRecords | (() => StreamRecords);
  /** Object records of `kind: 'text'` datasets: the field holding the text. Default `text`. */
  field?: string;
}

export function isStreamSource(source: unknown): source is StreamSource {
  return (source as { kind?: unknown } | null)?.kind === 'stream';
}

const isIterable = (x: unknown): x is StreamRecords =>
  x !== null &&
  typeof x === 'object' &&
  (Symbol.asyncIterator in (x as object) || Symbol.iterator in (x as object));

/** Checks a stream source: a non-empty name, records that are an iterable or a function, known keys. */
export function resolveStreamSource(source: StreamSource): StreamSource {
  rejectUnknownKeys(source, ['kind', 'name', 'records', 'field'], 'source');
  if (typeof source.name !== 'string' || source.name.length === 0) {
    throw new ConfigError(
      'source.name',
      'a stream source needs a non-empty name (it identifies the records in the manifest and on resume)',
    );
  }
  if (typeof source.records !== 'function' && !isIterable(source.records)) {
    throw new ConfigError(
      'source.records',
      `expected an iterable, an async iterable or a function returning one, found ${source.records === null ? 'null' : typeof source.records}`,
    );
  }
  if (source.field !== undefined && (typeof source.field !== 'string' || source.field.length === 0))
    throw new ConfigError('source.field', `expected a field name, found ${JSON.stringify(source.field)}`);
  return source;
}

/** What the manifest and `configHash` record of a stream source: its name and field, not its records. */
export function describeStreamSource(source: StreamSource): { kind: 'stream'; name: string; field?: string } {
  return source.field === undefined
    ? { kind: 'stream', name: source.name }
    : { kind: 'stream', name: source.name, field: source.field };
}

/**
 * Yields the records of a stream as source items (`file` is `<stream:name>`, `line` the 1-based record index),
 * only those with `i % worldSize === rank` under `partition`.
 */
export async function* streamSourceItems(
  source: StreamSource,
  partition: Partition = { rank: 0, worldSize: 1 },
): AsyncGenerator<SourceItem> {
  resolveStreamSource(source);
  const records = typeof source.records === 'function' ? source.records() : source.records;
  if (!isIterable(records)) {
    throw new ConfigError(
      'source.records',
      `the function returned ${records === null ? 'null' : typeof records}, not an iterable`,
    );
  }
  const file = `<stream:${source.name}>`;
  let i = 0;
  for await (const value of records) {
    if (i % partition.worldSize === partition.rank) yield { value, file, line: i + 1 };
    i++;
  }
}

/** The text of a stream record: a string itself, else `record[field]` (default `text`); anything else is bad. */
export function streamRecordText(source: StreamSource, value: unknown): string | Error {
  if (typeof value === 'string') return value;
  const field = source.field ?? 'text';
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return new Error(
      `expected a string or an object with a string "${field}", found ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`,
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
