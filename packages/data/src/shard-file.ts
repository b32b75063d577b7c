// One Arrow IPC *stream* shard of token rows (the Hugging Face `save_to_disk` data file format): written
// record batch by record batch to a temporary file with a running sha256, synced and renamed into place;
// read back whole, checked against its manifest entry, as flat typed arrays.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import {
  AsyncByteQueue,
  Field,
  List,
  makeData,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Uint8,
  Uint16,
  Uint32,
} from 'apache-arrow';
import { fsyncDir } from './atomic-file.js';
import { DataError } from './errors.js';

/** Element type of the token column: the narrowest that holds every id of the vocabulary. */
export type TokenDtype = 'uint16' | 'uint32';

export function tokenDtypeFor(vocabSize: number): TokenDtype {
  return vocabSize <= 65536 ? 'uint16' : 'uint32';
}

export type TokenArray = Uint16Array | Uint32Array;

/** The columns of a shard: `input_ids` always; `loss_mask` (1 = trained) for instruction data. */
export interface ShardColumns {
  tokenDtype: TokenDtype;
  lossMask: boolean;
}

/** Hugging Face `datasets` features of the columns (the `Sequence(Value(dtype))` form, read by datasets 2.x-4.x). */
export function hfFeatures(columns: ShardColumns): Record<string, unknown> {
  const seq = (dtype: string) => ({ feature: { dtype, _type: 'Value' }, _type: 'Sequence' });
  return {
    input_ids: seq(columns.tokenDtype),
    ...(columns.lossMask ? { loss_mask: seq('uint8') } : {}),
  };
}

/** The Arrow schema, with the features also in the `huggingface` schema metadata as `datasets` writes them. */
export function shardSchema(columns: ShardColumns): Schema {
  const list = (t: Uint8 | Uint16 | Uint32) => new List(new Field('item', t, true));
  const fields = [
    new Field('input_ids', list(columns.tokenDtype === 'uint16' ? new Uint16() : new Uint32()), true),
  ];
  if (columns.lossMask) fields.push(new Field('loss_mask', list(new Uint8()), true));
  const meta = new Map([['huggingface', JSON.stringify({ info: { features: hfFeatures(columns) } })]]);
  return new Schema(fields, meta);
}

/** An Arrow byte sink that writes straight to a file descriptor and hashes what it writes. */
class FileSink extends AsyncByteQueue {
  bytes = 0;
  constructor(
    private readonly fd: number,
    private readonly hash: Hash,
  ) {
    super();
  }
  override write(value: Uint8Array): void {
    let off = 0;
    while (off < value.byteLength) off += writeSync(this.fd, value, off);
    this.hash.update(value);
    this.bytes += value.byteLength;
  }
}

/** What a finished shard holds. */
export interface ShardSummary {
  file: string;
  rows: number;
  tokens: number;
  bytes: number;
  sha256: string;
}

/**
 * Writes rows to `<path>.tmp`, buffering at most `batchTokens` tokens before emitting a record batch;
 * `finish()` ends the stream, fsyncs, renames to `path` and fsyncs the folder. Until then `path` does not exist.
 */
export class ShardWriter {
  private readonly schema: Schema;
  private readonly tmp: string;
  private readonly fd: number;
  private readonly hash = createHash('sha256');
  private readonly sink: FileSink;
  private readonly writer: RecordBatchStreamWriter;
  private values: TokenArray;
  private mask: Uint8Array | null;
  private offsets = new Int32Array(1024);
  private nRows = 0;
  private nTokens = 0;
  rows = 0;
  tokens = 0;

  constructor(
    readonly path: string,
    readonly columns: ShardColumns,
    private readonly batchTokens = 1 << 20,
  ) {
    this.schema = shardSchema(columns);
    this.tmp = `${path}.tmp`;
    this.fd = openSync(this.tmp, 'w');
    this.sink = new FileSink(this.fd, this.hash);
    this.writer = new RecordBatchStreamWriter();
    this.writer.reset(this.sink, this.schema);
    this.values =
      columns.tokenDtype === 'uint16' ? new Uint16Array(batchTokens) : new Uint32Array(batchTokens);
    this.mask = columns.lossMask ? new Uint8Array(batchTokens) : null;
  }

  /** Appends one row; `mask` (0/1 per token) is required exactly when the shard has a loss mask. */
  addRow(ids: ArrayLike<number>, mask?: ArrayLike<number>): void {
    if ((mask !== undefined) !== this.columns.lossMask) {
      throw new Error(
        `ShardWriter.addRow: this shard ${this.columns.lossMask ? 'needs' : 'has no'} a loss mask`,
      );
    }
    const n = ids.length;
    if (this.nTokens + n > this.values.length) {
      if (this.nRows > 0 && this.nTokens > 0) this.flush();
      if (n > this.values.length) this.grow(n);
    }
    if (this.nRows + 2 > this.offsets.length) {
      const o = new Int32Array(this.offsets.length * 2);
      o.set(this.offsets);
      this.offsets = o;
    }
    this.values.set(ids, this.nTokens);
    if (this.mask && mask) this.mask.set(mask, this.nTokens);
    this.nTokens += n;
    this.nRows++;
    this.offsets[this.nRows] = this.nTokens;
    this.rows++;
    this.tokens += n;
    if (this.nTokens >= this.batchTokens) this.flush();
  }

  private grow(n: number): void {
    this.values = this.columns.tokenDtype === 'uint16' ? new Uint16Array(n) : new Uint32Array(n);
    if (this.mask) this.mask = new Uint8Array(n);
  }

  /** Emits the buffered rows as one record batch. */
  private flush(): void {
    if (this.nRows === 0) return;
    const listOf = (field: Field, data: TokenArray | Uint8Array) =>
      makeData({
        type: field.type,
        length: this.nRows,
        nullCount: 0,
        valueOffsets: this.offsets.subarray(0, this.nRows + 1),
        child: makeData({
          type: (field.type as List).children[0]!.type,
          length: this.nTokens,
          data: data.subarray(0, this.nTokens),
        }),
      });
    const [idsField, maskField] = this.schema.fields;
    const children = [listOf(idsField!, this.values)];
    if (maskField && this.mask) children.push(listOf(maskField, this.mask));
    const struct = makeData({
      type: new Struct(this.schema.fields),
      length: this.nRows,
      nullCount: 0,
      children,
    });
    this.writer.write(new RecordBatch(this.schema, struct));
    this.nRows = 0;
    this.nTokens = 0;
  }

  /** Writes the rest, ends the stream, syncs and renames into place. */
  finish(): ShardSummary {
    this.flush();
    this.writer.finish();
    fsyncSync(this.fd);
    closeSync(this.fd);
    renameSync(this.tmp, this.path);
    fsyncDir(dirname(this.path));
    return {
      file: basename(this.path),
      rows: this.rows,
      tokens: this.tokens,
      bytes: this.sink.bytes,
      sha256: this.hash.digest('hex'),
    };
  }

  /** Closes and leaves the temporary file (it is overwritten by the next run). */
  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}

/** A shard read into memory: row `i` is `values[offsets[i] .. offsets[i+1])`. */
export interface ShardData {
  rows: number;
  offsets: Int32Array;
  values: TokenArray;
  /** Loss mask per token (1 = trained), for instruction data. */
  mask: Uint8Array | null;
}

/** Expected facts of a shard, from the manifest. */
export interface ShardExpectation {
  file: string;
  rows: number;
  tokens: number;
  sha256: string;
}

function concatLists(
  batches: RecordBatch[],
  column: string,
): { offsets: Int32Array; values: Uint8Array | TokenArray } {
  let rows = 0;
  let tokens = 0;
  const parts: Array<{ offsets: Int32Array; values: Uint8Array | TokenArray; rows: number }> = [];
  for (const batch of batches) {
    const vec = batch.getChild(column);
    if (!vec) throw new Error(`no column "${column}"`);
    for (const data of vec.data) {
      const offsets = data.valueOffsets as Int32Array;
      const child = data.children[0]!;
      const start = offsets[data.offset]!;
      const end = offsets[data.offset + data.length]!;
      const values = (child.values as TokenArray | Uint8Array).subarray(
        child.offset + start,
        child.offset + end,
      );
      const rel = new Int32Array(data.length + 1);
      for (let i = 0; i <= data.length; i++) rel[i] = offsets[data.offset + i]! - start;
      parts.push({ offsets: rel, values, rows: data.length });
      rows += data.length;
      tokens += end - start;
    }
  }
  const first = parts[0]?.values;
  const Ctor = (first?.constructor ?? Uint16Array) as new (n: number) => Uint8Array | TokenArray;
  const values = new Ctor(tokens);
  const offsets = new Int32Array(rows + 1);
  let r = 0;
  let t = 0;
  for (const p of parts) {
    values.set(p.values, t);
    for (let i = 1; i <= p.rows; i++) offsets[r + i] = t + p.offsets[i]!;
    r += p.rows;
    t += p.values.length;
  }
  return { offsets, values };
}

/**
 * Reads a shard file whole, checks its sha256 (unless `verify` is false) and its row and token counts against
 * `expect`, and returns its columns as flat typed arrays. A mismatch raises a DataError naming the shard.
 */
export async function readShard(
  path: string,
  expect: ShardExpectation,
  options: { verify?: boolean } = {},
): Promise<ShardData> {
  const fail = (what: string, cause?: unknown) =>
    new DataError(
      `shard ${expect.file}: ${what}; the dataset is damaged or was changed after writing (rewrite it)`,
      {
        file: path,
        shard: expect.file,
        cause,
      },
    );
  let buffer: Buffer;
  try {
    buffer = await readFile(path);
  } catch (cause) {
    throw fail('cannot read the file', cause);
  }
  if (options.verify ?? true) {
    // WebCrypto hashes on the libuv thread pool, so a prefetched shard is checked off the main thread.
    const digest = await globalThis.crypto.subtle.digest('SHA-256', buffer);
    const sha = Buffer.from(digest).toString('hex');
    if (sha !== expect.sha256) throw fail(`sha256 is ${sha}, the manifest says ${expect.sha256}`);
  }
  let batches: RecordBatch[];
  try {
    batches = [...RecordBatchReader.from(buffer)];
  } catch (cause) {
    throw fail(`not a readable Arrow IPC stream: ${(cause as Error).message}`, cause);
  }
  const rows = batches.reduce((s, b) => s + b.numRows, 0);
  if (rows !== expect.rows) throw fail(`holds ${rows} rows, the manifest says ${expect.rows}`);
  const ids = concatLists(batches, 'input_ids');
  if (ids.values.length !== expect.tokens)
    throw fail(`holds ${ids.values.length} tokens, the manifest says ${expect.tokens}`);
  const hasMask = batches[0]?.schema.fields.some((f) => f.name === 'loss_mask') ?? false;
  const mask = hasMask ? (concatLists(batches, 'loss_mask').values as Uint8Array) : null;
  return { rows, offsets: ids.offsets, values: ids.values as TokenArray, mask };
}
