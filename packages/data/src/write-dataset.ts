// Tokenizes a source into Arrow IPC shards in the Hugging Face `save_to_disk` layout with a loralab manifest.
// Crash-safe and resumable: each shard is written to a temporary file, synced and renamed, and only then
// recorded in the rank's progress file; a rerun skips the source records of recorded shards and continues.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { ChatMessage, Tokenizer } from '@loralab/tokenizer';
import { writeJsonAtomic } from './atomic-file.js';
import { ChatEncoderPool, WORKER_DEPTH } from './chat-encoder-pool.js';
import { resolveRank } from './distributed.js';
import { ConfigError, DataError, rejectUnknownKeys } from './errors.js';
import { finalizeDataset } from './finalize-dataset.js';
import { checkSomeRows, InputCoverage, removeUnrecorded } from './input-coverage.js';
import {
  type InstructFormat,
  instructColumns,
  type LossMaskStrategy,
  resolveInstructFormat,
  toChatMessages,
} from './instruct-formats.js';
import { type Manifest, readManifest, type TokenizerIdentity } from './manifest.js';
import { emptyProgress, PROGRESS_DIR, type Progress, partName, rankTag } from './progress.js';
import { type ShardColumns, type ShardSummary, ShardWriter, tokenDtypeFor } from './shard-file.js';
import {
  type BadRecordPolicy,
  badRecord,
  readSourceItems,
  recordText,
  resolveSourceConfig,
  type SourceConfig,
  sourceFiles,
} from './sources.js';
import {
  describeStreamSource,
  isStreamSource,
  resolveStreamSource,
  type StreamSource,
  streamRecordText,
  streamSourceItems,
} from './stream-source.js';

export interface WriteDatasetConfig {
  /** Output folder; created if missing. */
  outDir: string;
  /** Where the records come from: a source config, or a stream of records in the caller's hands. */
  source: SourceConfig | StreamSource;
  /** `text`: documents for continued pretraining (default); `chat`: instruction conversations with a loss mask. */
  kind?: 'text' | 'chat';
  /** A shard is closed after the row that brings it to at least this many tokens. Default 2^25 (64 MiB of uint16). */
  shardTokens?: number;
  /** Tokens buffered per Arrow record batch inside a shard (bounds memory). Default 2^20. */
  recordBatchTokens?: number;
  /** Documents per call of the native batch encoder. Default 1024. */
  encodeBatchSize?: number;
  /** ... and at most about this many characters per call (bounds the encoder's memory). Default 2^22. */
  encodeBatchChars?: number;
  /** Append EOS to every row. Default: true for `text`, false for `chat` (the template ends turns itself). */
  appendEos?: boolean | null;
  /** Add the post-processor's special tokens (BOS) when encoding `text`. Default false. */
  addSpecialTokens?: boolean;
  /** Malformed records: `fail` (default) raises a DataError with file and line; `skip` skips and counts them. */
  onBadRecord?: BadRecordPolicy;
  /**
   * `chat`: record layout: `auto` (by keys, default), a layout name (`messages`, `sharegpt`, `alpaca`,
   * `instruction-response`, `input-output`, `prompt-completion`), or a column mapping as in LLaMA-Factory's
   * `dataset_info.json` (`{formatting, columns, tags}`).
   */
  format?: InstructFormat;
  /** `chat`: which tokens are trained. Default `assistant` (every assistant turn). */
  lossMask?: LossMaskStrategy;
  /** `chat`: a template string or the name of one of the tokenizer's. Default the tokenizer's own. */
  chatTemplate?: string | null;
  /**
   * `chat`: worker threads rendering and encoding conversations; 0 encodes in this thread. Default
   * `defaultChatThreads()`: min(cores - 1, 8) with 4 or more cores, else 0.
   */
  chatThreads?: number | null;
  /** `chat`: longest conversation in tokens; null for no limit (default). */
  maxLength?: number | null;
  /** `chat`, required with `maxLength`: `right` cuts the end, `drop` skips and counts, `error` raises. */
  truncation?: 'right' | 'drop' | 'error' | null;
  /** This process's rank and the number of processes; default from Slurm/Kubernetes variables, else 0 of 1. */
  rank?: number | null;
  worldSize?: number | null;
  /** Re-hash shards recorded by an earlier run before resuming after them. Default true. */
  verifyOnResume?: boolean;
}

export const DEFAULT_WRITE_DATASET_CONFIG = {
  kind: 'text',
  shardTokens: 2 ** 25,
  recordBatchTokens: 2 ** 20,
  encodeBatchSize: 1024,
  encodeBatchChars: 2 ** 22,
  appendEos: null,
  addSpecialTokens: false,
  onBadRecord: 'fail',
  format: 'auto',
  lossMask: 'assistant',
  chatTemplate: null,
  chatThreads: null,
  maxLength: null,
  truncation: null,
  rank: null,
  worldSize: null,
  verifyOnResume: true,
} as const satisfies Omit<WriteDatasetConfig, 'outDir' | 'source'>;

export type ResolvedWriteDatasetConfig = Required<WriteDatasetConfig> & {
  appendEos: boolean;
  rank: number;
  worldSize: number;
};

const posInt = (key: string, v: unknown) => {
  if (!Number.isInteger(v) || (v as number) < 1)
    throw new ConfigError(key, `expected a positive integer, found ${JSON.stringify(v)}`);
};

export function resolveWriteDatasetConfig(config: WriteDatasetConfig): ResolvedWriteDatasetConfig {
  rejectUnknownKeys(config, ['outDir', 'source', ...Object.keys(DEFAULT_WRITE_DATASET_CONFIG)], 'write');
  if (typeof config.outDir !== 'string' || !config.outDir)
    throw new ConfigError('outDir', 'expected a folder path');
  if (isStreamSource(config.source)) resolveStreamSource(config.source);
  else resolveSourceConfig(config.source);
  const c = { ...DEFAULT_WRITE_DATASET_CONFIG, ...config };
  if (c.kind !== 'text' && c.kind !== 'chat')
    throw new ConfigError('kind', `expected "text" or "chat", found ${JSON.stringify(c.kind)}`);
  posInt('shardTokens', c.shardTokens);
  posInt('recordBatchTokens', c.recordBatchTokens);
  posInt('encodeBatchSize', c.encodeBatchSize);
  posInt('encodeBatchChars', c.encodeBatchChars);
  if (!['fail', 'skip'].includes(c.onBadRecord))
    throw new ConfigError('onBadRecord', `expected "fail" or "skip", found ${JSON.stringify(c.onBadRecord)}`);
  resolveInstructFormat(c.format);
  if (!['assistant', 'last-assistant', 'all'].includes(c.lossMask))
    throw new ConfigError('lossMask', `unknown strategy ${JSON.stringify(c.lossMask)}`);
  if (c.chatThreads !== null && (!Number.isInteger(c.chatThreads) || c.chatThreads < 0)) {
    throw new ConfigError(
      'chatThreads',
      `expected a non-negative integer or null, found ${JSON.stringify(c.chatThreads)}`,
    );
  }
  if (c.maxLength !== null) {
    posInt('maxLength', c.maxLength);
    if (c.truncation === null)
      throw new ConfigError('truncation', 'maxLength is set: choose "right", "drop" or "error" explicitly');
  }
  if (c.truncation !== null && !['right', 'drop', 'error'].includes(c.truncation)) {
    throw new ConfigError(
      'truncation',
      `expected "right", "drop" or "error", found ${JSON.stringify(c.truncation)}`,
    );
  }
  if (
    c.kind === 'text' &&
    (c.maxLength !== null || config.lossMask !== undefined || config.format !== undefined)
  ) {
    throw new ConfigError('kind', 'maxLength, lossMask and format apply to kind "chat" only');
  }
  const { rank, worldSize } = resolveRank({ rank: c.rank, worldSize: c.worldSize });
  return { ...c, appendEos: c.appendEos ?? c.kind === 'text', rank, worldSize } as ResolvedWriteDatasetConfig;
}

/**
 * Worker threads for chat encoding by default: min(cores - 1, 8), leaving a core to the reading thread, with 4 or
 * more cores; none below that, where measured here (2 shared cores) the threads cost more than they gained.
 */
export function defaultChatThreads(): number {
  const cores = availableParallelism();
  return cores >= 4 ? Math.min(cores - 1, 8) : 0;
}

export function tokenizerIdentity(tokenizer: Tokenizer): TokenizerIdentity {
  return {
    sha256: createHash('sha256').update(tokenizer.json).digest('hex'),
    vocabSize: tokenizer.vocabSize,
    bos: tokenizer.bos?.id ?? null,
    eos: tokenizer.eos?.id ?? null,
    pad: tokenizer.pad?.id ?? null,
  };
}

/** The write settings that determine the output: what is hashed into `configHash` and kept in the manifest. */
function outputConfig(c: ResolvedWriteDatasetConfig): Record<string, unknown> {
  const {
    outDir: _o,
    rank: _r,
    verifyOnResume: _v,
    recordBatchTokens: _b,
    encodeBatchSize: _e,
    encodeBatchChars: _ec,
    chatThreads: _ct,
    ...rest
  } = c;
  return isStreamSource(c.source) ? { ...rest, source: describeStreamSource(c.source) } : rest;
}

export interface WriteResult {
  rank: number;
  worldSize: number;
  /** Shards this call wrote, and those found complete from an earlier run. */
  written: number;
  resumed: number;
  /** The finished dataset's manifest, or null while other ranks have not finished. */
  manifest: Manifest | null;
}

/** Hooks for tests and progress display. */
export interface WriteHooks {
  /** Called after each shard is durable and recorded. */
  onShard?: (shard: ShardSummary & { position: number }) => void;
}

/**
 * Tokenizes `config.source` into shards. Each of `worldSize` ranks takes `files[rank::worldSize]` (records
 * `i % worldSize === rank` for generators) and writes `part-<rank>-<i>.arrow` files with its own progress file;
 * when every rank's completion marker exists, the rank that finishes last renames the parts, in rank order, to
 * `data-<i>-of-<N>.arrow` and writes `state.json`, `dataset_info.json` and, last, `manifest.json`.
 * A rerun after a crash continues after the last recorded shard; a rerun of a finished dataset does nothing.
 */
export async function writeTokenizedDataset(
  tokenizer: Tokenizer,
  config: WriteDatasetConfig,
  hooks: WriteHooks = {},
): Promise<WriteResult> {
  const c = resolveWriteDatasetConfig(config);
  const identity = tokenizerIdentity(tokenizer);
  const configHash = createHash('sha256')
    .update(JSON.stringify({ identity, config: outputConfig(c) }))
    .digest('hex');
  const progressDir = join(c.outDir, PROGRESS_DIR);
  const created = { outDir: !existsSync(c.outDir), progressDir: !existsSync(progressDir) };
  mkdirSync(progressDir, { recursive: true });

  if (existsSync(join(c.outDir, 'manifest.json'))) {
    const m = await readManifest(c.outDir);
    if (m.configHash !== configHash) {
      throw new DataError(
        'holds a finished dataset written with another tokenizer or config; choose another outDir',
        { file: c.outDir },
      );
    }
    return { rank: c.rank, worldSize: c.worldSize, written: 0, resumed: m.shards.length, manifest: m };
  }

  const tag = rankTag(c.rank, c.worldSize);
  try {
    return await writeAndFinalize(tokenizer, c, identity, configHash, tag, hooks);
  } catch (e) {
    // Nothing recorded: leave the folders as they were before this call (an earlier run's files stay).
    const progressFile = join(progressDir, `${tag}.json`);
    const recorded = existsSync(progressFile)
      ? (JSON.parse(readFileSync(progressFile, 'utf8')) as Progress).parts.length > 0
      : false;
    if (!recorded) removeUnrecorded(c.outDir, progressDir, tag, partName(c.rank, 0).slice(0, 11), created);
    throw e;
  }
}

async function writeAndFinalize(
  tokenizer: Tokenizer,
  c: ResolvedWriteDatasetConfig,
  identity: TokenizerIdentity,
  configHash: string,
  tag: string,
  hooks: WriteHooks,
): Promise<WriteResult> {
  const progressDir = join(c.outDir, PROGRESS_DIR);
  const progressFile = join(progressDir, `${tag}.json`);
  const doneFile = join(progressDir, `${tag}.done`);
  let progress = emptyProgress(configHash);
  if (existsSync(progressFile)) {
    const found = JSON.parse(readFileSync(progressFile, 'utf8')) as Progress;
    if (found.configHash !== configHash) {
      throw new DataError(
        'holds a partial dataset written with another tokenizer or config; delete it or choose another outDir',
        {
          file: progressFile,
        },
      );
    }
    progress = found;
    if (c.verifyOnResume) {
      for (const p of progress.parts) {
        const path = join(c.outDir, p.file);
        const sha = existsSync(path)
          ? createHash('sha256').update(readFileSync(path)).digest('hex')
          : 'missing';
        if (sha !== p.sha256) {
          throw new DataError(
            `shard ${p.file} recorded by an earlier run is ${sha === 'missing' ? 'missing' : 'damaged'}; delete the folder and rewrite`,
            {
              file: path,
              shard: p.file,
            },
          );
        }
      }
    }
  }
  const resumed = progress.parts.length;
  const columns: ShardColumns = {
    tokenDtype: tokenDtypeFor(identity.vocabSize),
    lossMask: c.kind === 'chat',
  };
  writeJsonAtomic(join(progressDir, `${tag}.meta.json`), {
    kind: c.kind,
    tokenizer: identity,
    columns,
    config: outputConfig(c),
  });
  if (!existsSync(doneFile)) {
    await writeRank(tokenizer, c, identity, progress, progressFile, hooks);
    writeJsonAtomic(doneFile, {
      parts: progress.parts.length,
      rows: progress.parts.reduce((s, p) => s + p.rows, 0),
    });
  }
  const manifest = await finalizeDataset(c.outDir);
  return {
    rank: c.rank,
    worldSize: c.worldSize,
    written: progress.parts.length - resumed,
    resumed,
    manifest,
  };
}

/** A row to write: ids from the text encoder (an array) or the chat encoder (a view into a packed batch). */
interface Row {
  ids: number[] | Uint32Array;
  mask?: Uint8Array;
}

/** A batch item in source order: a record to encode, or a malformed record to count when its turn comes. */
type Pending = {
  index: number;
  file: string;
  line: number;
  text?: string;
  messages?: ChatMessage[];
  bad?: { file: string; line: number; reason: string };
};

async function writeRank(
  tokenizer: Tokenizer,
  c: ResolvedWriteDatasetConfig,
  identity: TokenizerIdentity,
  progress: Progress,
  progressFile: string,
  hooks: WriteHooks,
): Promise<void> {
  const columns: ShardColumns = {
    tokenDtype: tokenDtypeFor(identity.vocabSize),
    lossMask: c.kind === 'chat',
  };
  const eos = identity.eos;
  if (c.appendEos && eos === null)
    throw new ConfigError('appendEos', 'the tokenizer has no eos_token: set appendEos: false or add one');
  let shard: ShardWriter | null = null;
  const closeShard = (position: number) => {
    if (!shard) return;
    const summary = { ...shard.finish(), position };
    shard = null;
    progress.parts.push(summary);
    progress.position = position;
    writeJsonAtomic(progressFile, progress);
    hooks.onShard?.(summary);
  };
  const addRow = (row: Row, index: number) => {
    shard ??= new ShardWriter(
      join(c.outDir, partName(c.rank, progress.parts.length)),
      columns,
      c.recordBatchTokens,
    );
    if (c.appendEos && eos !== null) {
      if (Array.isArray(row.ids)) row.ids.push(eos);
      else {
        const ids = new Uint32Array(row.ids.length + 1);
        ids.set(row.ids);
        ids[row.ids.length] = eos;
        row.ids = ids;
      }
      if (row.mask) {
        const m = new Uint8Array(row.mask.length + 1);
        m.set(row.mask);
        m[row.mask.length] = row.mask[row.mask.length - 1] ?? 0;
        row.mask = m;
      }
    }
    shard.addRow(row.ids, row.mask);
    if (shard.tokens >= c.shardTokens) closeShard(index + 1);
  };

  // Chat batches are encoded on a pool of worker threads, started when the first full batch is ready
  // (small inputs never pay for it); the last, partial batch is encoded here when there is no pool yet,
  // and so are batches that come before any worker is ready.
  const chatOptions = c.chatTemplate === null ? {} : { chatTemplate: c.chatTemplate };
  const threads = c.kind === 'chat' ? (c.chatThreads ?? defaultChatThreads()) : 0;
  let pool: ChatEncoderPool | null = null;
  const local = new ChatEncoderPool(tokenizer, chatOptions, 0, c.lossMask);
  const encode = async (batch: Pending[], full: boolean): Promise<Array<Row | null>> => {
    if (c.kind === 'text') {
      const texts = batch.filter((p) => p.text !== undefined).map((p) => p.text!);
      const enc = await tokenizer.encodeBatch(texts, { addSpecialTokens: c.addSpecialTokens });
      let k = 0;
      return batch.map((p) => (p.text !== undefined ? { ids: enc[k++]!.ids } : null));
    }
    const chats = batch.filter((p) => p.messages !== undefined);
    if (full && threads > 0) pool ??= new ChatEncoderPool(tokenizer, chatOptions, threads, c.lossMask);
    const { ids, offsets, masks } = await (pool ?? local).encode(chats.map((p) => p.messages!));
    let k = 0;
    return batch.map((p) => {
      if (!p.messages) return null;
      const [start, end] = [offsets[k]!, offsets[++k]!];
      return { ids: ids.subarray(start, end), mask: masks.subarray(start, end) };
    });
  };

  // Rows are written strictly in source order; batch k+1 is read and rendered while batch k is encoded.
  const emit = (batch: Pending[], rows: Array<Row | null>) => {
    for (const [i, p] of batch.entries()) {
      if (p.bad) {
        badRecord(c.onBadRecord, progress.stats, p.bad, p.bad.reason);
        continue;
      }
      const row = rows[i]!;
      progress.stats.records++;
      if (c.maxLength !== null && row.ids.length > c.maxLength) {
        if (c.truncation === 'error') {
          throw new DataError(
            `conversation of ${row.ids.length} tokens exceeds maxLength ${c.maxLength} (truncation: "error")`,
            {
              file: p.file,
              line: p.line,
            },
          );
        }
        if (c.truncation === 'drop') {
          progress.truncated.dropped++;
          continue;
        }
        progress.truncated.cut++;
        const keep = c.maxLength - (c.appendEos ? 1 : 0);
        row.ids = row.ids.slice(0, keep);
        row.mask = row.mask?.slice(0, keep);
      }
      addRow(row, p.index);
    }
  };

  // Every input file of this rank must give a record with content (see input-coverage.ts).
  const files = isStreamSource(c.source) ? null : await sourceFiles(c.source);
  const coverage = new InputCoverage(files?.filter((_, i) => i % c.worldSize === c.rank) ?? null);
  let index = 0;
  let batch: Pending[] = [];
  let batchChars = 0;
  // While the next batch is read, up to `maxInFlight` batches are being encoded; rows are emitted strictly in order.
  const inFlight: Array<{ batch: Pending[]; rows: Promise<Array<Row | null>> }> = [];
  const maxInFlight = threads > 0 ? WORKER_DEPTH * threads : 1;
  const submit = async (full: boolean) => {
    if (batch.length) {
      const rows = encode(batch, full);
      rows.catch(() => {}); // surfaces when awaited below
      inFlight.push({ batch, rows });
    }
    batch = [];
    batchChars = 0;
    while (inFlight.length > (full ? maxInFlight : 0)) {
      const next = inFlight.shift()!;
      emit(next.batch, await next.rows);
    }
  };
  try {
    // Columnar sources (Parquet) read only the columns used: the text field, or the instruction layout's columns.
    const source = c.source;
    const partition = { rank: c.rank, worldSize: c.worldSize };
    const columns =
      c.kind === 'text'
        ? 'field' in source
          ? [source.field ?? 'text']
          : null
        : (available: string[]) => instructColumns(c.format, available);
    const items = isStreamSource(source)
      ? streamSourceItems(source, partition)
      : readSourceItems(source, partition, { columns });
    const textOf = (value: unknown) =>
      isStreamSource(source) ? streamRecordText(source, value) : recordText(source, value);
    for await (const item of items) {
      const i = index++;
      const text = item.error === undefined && c.kind === 'text' ? textOf(item.value) : null;
      coverage.saw(item.file, typeof text === 'string' && text.trim() === '');
      if (i < progress.position) continue; // already in a recorded shard: not tokenized again
      const at = { index: i, file: item.file, line: item.line };
      const bad = (reason: string) => ({ ...at, bad: { file: item.file, line: item.line, reason } });
      if (item.error !== undefined) {
        batch.push(bad(item.error));
      } else if (text !== null) {
        batch.push(text instanceof Error ? bad(text.message) : { ...at, text });
      } else {
        const messages = toChatMessages(item.value, c.format);
        batch.push(messages instanceof Error ? bad(messages.message) : { ...at, messages });
      }
      const last = batch[batch.length - 1]!;
      batchChars +=
        last.text?.length ?? last.messages?.reduce((n, m) => n + (m.content?.length ?? 0), 0) ?? 0;
      if (batch.length >= c.encodeBatchSize || batchChars >= c.encodeBatchChars) await submit(true);
    }
    await submit(false);
    coverage.check();
    const rows = progress.parts.reduce((n, p) => n + p.rows, 0) + ((shard as ShardWriter | null)?.rows ?? 0);
    const { records, skipped } = progress.stats;
    checkSomeRows(
      rows,
      records,
      skipped,
      progress.truncated.dropped,
      files?.join(', ') ?? `<${c.source.kind}>`,
    );
    // The last, partial shard; its position is the end of the rank's stream. A rank with no input (more ranks
    // than files) still writes its progress file, which finalizeDataset reads.
    if (shard) closeShard(index);
    else {
      progress.position = index;
      writeJsonAtomic(progressFile, progress);
    }
  } catch (e) {
    (shard as ShardWriter | null)?.abort();
    throw e;
  } finally {
    await (pool as ChatEncoderPool | null)?.close();
  }
}
