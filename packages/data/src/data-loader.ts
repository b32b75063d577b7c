// The streaming loader: fixed-length packed sequences (continued pretraining) or padded rows (instruction
// data), in a deterministic shuffled order, split across ranks, with a state that resumes exactly.
//
// Order of one epoch e (the same on every rank):
//   1. shards in the order permutation(nShards, seed ⊕ e) (identity without shuffle);
//   2. units: `pack` cuts the concatenated tokens into sequences of seqLen + 1 tokens (the tail shorter than
//      that is dropped); `rows` takes each row as one unit;
//   3. units grouped in blocks of `shuffleBlock`, each block permuted by permutation(len, seed ⊕ e ⊕ block);
//   4. position p of that order goes to rank p % worldSize; the last N mod worldSize units are dropped so
//      that every rank has the same number of samples, floor(N / worldSize), per epoch.
// Sample k of rank r in epoch e is therefore a pure function of (seed, e, k): resuming at (e, k) loads only
// the block holding it, without replaying what came before.
import { createHash } from 'node:crypto';
import { DatasetReader, type RowRange, type TokenRange } from './dataset-reader.js';
import { resolveRank } from './distributed.js';
import { ConfigError, DataError, rejectUnknownKeys } from './errors.js';
import { type Manifest, readManifest } from './manifest.js';
import { mixSeed, permutation } from './prng.js';

/** Label of positions that are not trained (PyTorch's `ignore_index`). */
export const IGNORE_INDEX = -100;

export interface LoaderConfig {
  /** `pack`: concatenate rows and cut fixed-length sequences (default); `rows`: one row per sample, padded. */
  mode?: 'pack' | 'rows';
  /** Tokens per sample fed to the model; a packed sequence holds seqLen + 1 tokens for the shifted labels. Required. */
  seqLen: number;
  /** Samples per batch on this rank. Required. */
  batchSize: number;
  /** Seed of the shard order and block permutations. Default 0. */
  seed?: number;
  /** Shuffle shards and samples within blocks. Default true. */
  shuffle?: boolean;
  /** Samples per shuffle block (memory: one block of tokens). Default 4096. */
  shuffleBlock?: number;
  /** Number of epochs; null for an endless stream. Default 1. */
  epochs?: number | null;
  /** `pack`: reset position ids at each document start, do not train across documents, report segments. Default false. */
  keepDocumentBoundaries?: boolean;
  /** `rows`: padding id; default the manifest's pad id, else its EOS id. */
  padId?: number | null;
  /** Check each shard's sha256 against the manifest when loading it. Default true. */
  verify?: boolean;
  /** Rank and world size; default from Slurm/Kubernetes variables, else 0 of 1. */
  rank?: number | null;
  worldSize?: number | null;
}

export const DEFAULT_LOADER_CONFIG = {
  mode: 'pack',
  seed: 0,
  shuffle: true,
  shuffleBlock: 4096,
  epochs: 1,
  keepDocumentBoundaries: false,
  padId: null,
  verify: true,
  rank: null,
  worldSize: null,
} as const;

export type ResolvedLoaderConfig = Required<LoaderConfig> & { rank: number; worldSize: number };

export function resolveLoaderConfig(config: LoaderConfig): ResolvedLoaderConfig {
  rejectUnknownKeys(config, ['seqLen', 'batchSize', ...Object.keys(DEFAULT_LOADER_CONFIG)], 'loader');
  const c = { ...DEFAULT_LOADER_CONFIG, ...config };
  for (const key of ['seqLen', 'batchSize', 'shuffleBlock'] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1)
      throw new ConfigError(key, `expected a positive integer, found ${JSON.stringify(c[key])}`);
  }
  if (c.epochs !== null && (!Number.isInteger(c.epochs) || c.epochs < 1)) {
    throw new ConfigError('epochs', `expected a positive integer or null, found ${JSON.stringify(c.epochs)}`);
  }
  if (c.mode !== 'pack' && c.mode !== 'rows')
    throw new ConfigError('mode', `expected "pack" or "rows", found ${JSON.stringify(c.mode)}`);
  if (c.mode === 'rows' && c.keepDocumentBoundaries)
    throw new ConfigError('keepDocumentBoundaries', 'applies to mode "pack" only');
  const { rank, worldSize } = resolveRank({ rank: c.rank, worldSize: c.worldSize });
  return { ...c, rank, worldSize };
}

/** Where a loader is: resuming from it yields exactly the batches that would have followed. */
export interface LoaderState {
  version: 1;
  /** Epoch of the next sample (0-based). */
  epoch: number;
  /** Index of the next sample of this rank within the epoch. */
  sample: number;
  seed: number;
  /** Hash of the dataset and the settings that fix the order; resuming with others is refused. */
  fingerprint: string;
}

/** One batch. Arrays are row-major `(B, T)` with T = seqLen; B is batchSize except possibly in the last batch. */
export interface Batch {
  /** (B, T) token ids. */
  inputIds: Int32Array;
  /** (B, T) the next token at each position, or IGNORE_INDEX where not trained. */
  labels: Int32Array;
  /** (B, T) 1 for real tokens, 0 for padding (`rows` mode; all ones in `pack` mode). */
  attentionMask: Uint8Array;
  /** (B, T) position ids: 0..T-1, or restarting at each document with `keepDocumentBoundaries`. */
  positionIds: Int32Array;
  /** Per sample, the lengths of its documents in order (sum T): the blocks of a block-diagonal causal mask. */
  segments: number[][] | null;
  batchSize: number;
  seqLen: number;
  /** Real (non-padding) tokens in the batch. */
  tokens: number;
  /** The state after this batch: save it with the checkpoint to resume. */
  state: LoaderState;
}

export class DataLoader {
  private readonly reader: DatasetReader;
  private readonly c: ResolvedLoaderConfig;
  private readonly fingerprint: string;
  private orderEpoch = -1;
  private block: {
    epoch: number;
    index: number;
    perm: Uint32Array;
    start: number;
    data: TokenRange | null;
    rows: RowRange | null;
  } | null = null;

  private constructor(
    readonly dir: string,
    readonly manifest: Manifest,
    config: ResolvedLoaderConfig,
  ) {
    this.c = config;
    this.reader = new DatasetReader(dir, manifest, config.verify);
    this.reader.setOrder(Uint32Array.from(manifest.shards.keys()));
    const { seqLen, mode, shuffle, shuffleBlock, worldSize, rank, keepDocumentBoundaries, batchSize } =
      config;
    this.fingerprint = createHash('sha256')
      .update(
        JSON.stringify({
          data: manifest.shards.map((s) => s.sha256),
          seqLen,
          mode,
          shuffle,
          shuffleBlock,
          worldSize,
          rank,
          keepDocumentBoundaries,
          batchSize,
        }),
      )
      .digest('hex')
      .slice(0, 16);
  }

  private positionsCache: Int32Array | null = null;

  /** 0, 1, ..., seqLen - 1. */
  private positions(): Int32Array {
    this.positionsCache ??= Int32Array.from({ length: this.c.seqLen }, (_, i) => i);
    return this.positionsCache;
  }

  /** Opens the tokenized dataset in `dir`. */
  static async open(dir: string, config: LoaderConfig): Promise<DataLoader> {
    return new DataLoader(dir, await readManifest(dir), resolveLoaderConfig(config));
  }

  /** Units (sequences or rows) in one epoch, before the rank split. */
  get unitsPerEpoch(): number {
    return this.c.mode === 'pack'
      ? Math.floor(this.manifest.totals.tokens / (this.c.seqLen + 1))
      : this.manifest.totals.rows;
  }

  /** Samples this rank gets per epoch: floor(units / worldSize). */
  get samplesPerEpoch(): number {
    return Math.floor(this.unitsPerEpoch / this.c.worldSize);
  }

  /** The state at the very start. */
  initialState(): LoaderState {
    return { version: 1, epoch: 0, sample: 0, seed: this.c.seed, fingerprint: this.fingerprint };
  }

  private checkState(state: LoaderState): void {
    if (state?.version !== 1)
      throw new ConfigError('state.version', `expected 1, found ${JSON.stringify(state?.version)}`);
    if (state.fingerprint !== this.fingerprint || state.seed !== this.c.seed) {
      throw new DataError(
        'the loader state was saved with another dataset, seed, seqLen, batchSize, mode, shuffle settings or rank; resume with the same ones',
      );
    }
    if (!Number.isInteger(state.sample) || state.sample < 0 || state.sample > this.samplesPerEpoch) {
      throw new ConfigError(
        'state.sample',
        `expected an integer in [0, ${this.samplesPerEpoch}], found ${state.sample}`,
      );
    }
  }

  private setEpoch(epoch: number): void {
    if (this.orderEpoch === epoch) return;
    const n = this.manifest.shards.length;
    this.reader.setOrder(
      this.c.shuffle
        ? permutation(n, mixSeed(this.c.seed, epoch, 0x5348))
        : Uint32Array.from({ length: n }, (_, i) => i),
    );
    this.orderEpoch = epoch;
    this.block = null;
  }

  /** The epoch-order unit index of this rank's sample k: block-shuffled position p = k * worldSize + rank. */
  private async unitOf(
    epoch: number,
    k: number,
  ): Promise<{ unit: number; block: NonNullable<DataLoader['block']> }> {
    this.setEpoch(epoch);
    const p = k * this.c.worldSize + this.c.rank;
    const B = this.c.shuffleBlock;
    const index = Math.floor(p / B);
    if (!this.block || this.block.index !== index || this.block.epoch !== epoch) {
      const start = index * B;
      const len = Math.min(B, this.unitsPerEpoch - start);
      const perm = this.c.shuffle
        ? permutation(len, mixSeed(this.c.seed, epoch, index + 1))
        : Uint32Array.from({ length: len }, (_, i) => i);
      // One sequential read of the block's units: token ranges for `pack`, rows for `rows`.
      const L = this.c.seqLen + 1;
      const rowStarts = this.c.keepDocumentBoundaries;
      const data =
        this.c.mode === 'pack' ? await this.reader.tokens(start * L, (start + len) * L, { rowStarts }) : null;
      const rows = this.c.mode === 'rows' ? await this.reader.rows(start, start + len) : null;
      this.block = { epoch, index, perm, start, data, rows };
    }
    const block = this.block;
    return { unit: block.start + block.perm[p - block.start]!, block };
  }

  /**
   * Yields batches from `state` (default: the start) to the end of the last epoch. A batch may hold samples of
   * two epochs; the last batch may be smaller than batchSize.
   */
  async *batches(state?: LoaderState): AsyncGenerator<Batch> {
    let { epoch, sample } = state ?? this.initialState();
    if (state) this.checkState(state);
    const perEpoch = this.samplesPerEpoch;
    if (perEpoch === 0) {
      throw new DataError(
        `the dataset has ${this.unitsPerEpoch} ${this.c.mode === 'pack' ? `sequences of ${this.c.seqLen + 1} tokens` : 'rows'}, too few for ${this.c.worldSize} rank(s)`,
        { file: this.dir },
      );
    }
    const { batchSize: B, seqLen: T } = this.c;
    const ended = () => this.c.epochs !== null && epoch >= this.c.epochs;
    if (sample === perEpoch) {
      epoch++;
      sample = 0;
    }
    while (!ended()) {
      const inputIds = new Int32Array(B * T);
      const labels = new Int32Array(B * T).fill(IGNORE_INDEX);
      const attentionMask = new Uint8Array(B * T);
      const positionIds = new Int32Array(B * T);
      const segments: number[][] | null = this.c.keepDocumentBoundaries ? [] : null;
      let b = 0;
      let tokens = 0;
      for (; b < B && !ended(); b++) {
        tokens += await this.fill(epoch, sample, b, inputIds, labels, attentionMask, positionIds, segments);
        if (++sample === perEpoch) {
          epoch++;
          sample = 0;
        }
      }
      const n = b * T;
      yield {
        inputIds: b === B ? inputIds : inputIds.slice(0, n),
        labels: b === B ? labels : labels.slice(0, n),
        attentionMask: b === B ? attentionMask : attentionMask.slice(0, n),
        positionIds: b === B ? positionIds : positionIds.slice(0, n),
        segments,
        batchSize: b,
        seqLen: T,
        tokens,
        state: { version: 1, epoch, sample, seed: this.c.seed, fingerprint: this.fingerprint },
      };
    }
  }

  /** Writes sample k of `epoch` into row `b` of the batch arrays; returns its number of real tokens. */
  private async fill(
    epoch: number,
    k: number,
    b: number,
    inputIds: Int32Array,
    labels: Int32Array,
    attentionMask: Uint8Array,
    positionIds: Int32Array,
    segments: number[][] | null,
  ): Promise<number> {
    const T = this.c.seqLen;
    const o = b * T;
    const { unit, block } = await this.unitOf(epoch, k);
    if (this.c.mode === 'pack') {
      // Sequence `unit` is tokens [u(T+1), (u+1)(T+1)) of the stream: x = seq[0..T), y = seq[1..T].
      const d = block.data!;
      const s = (unit - block.start) * (T + 1);
      const { values, mask, rowStart } = d;
      inputIds.set(values.subarray(s, s + T), o);
      labels.set(values.subarray(s + 1, s + T + 1), o);
      attentionMask.fill(1, o, o + T);
      if (mask) {
        for (let t = 0; t < T; t++) if (mask[s + t + 1] !== 1) labels[o + t] = IGNORE_INDEX;
      }
      if (!this.c.keepDocumentBoundaries) {
        positionIds.set(this.positions(), o);
        return T;
      }
      // Document boundaries: positions restart at each row start, and no target crosses into the next row.
      const segs: number[] = [];
      let pos = 0;
      for (let t = 0; t < T; t++) {
        if (t > 0 && rowStart![s + t]) {
          segs.push(pos);
          pos = 0;
        }
        positionIds[o + t] = pos++;
        if (rowStart![s + t + 1]) labels[o + t] = IGNORE_INDEX;
      }
      segs.push(pos);
      segments?.push(segs);
      return T;
    }
    // `rows`: one row, cut to T + 1 tokens, padded to T.
    const rows = block.rows!;
    const r = unit - block.start;
    const [a, z] = [rows.offsets[r]!, rows.offsets[r + 1]!];
    const values = rows.values.subarray(a, z);
    const mask = rows.mask ? rows.mask.subarray(a, z) : null;
    const n = Math.min(values.length, T + 1);
    const pad = this.c.padId ?? this.manifest.tokenizer.pad ?? this.manifest.tokenizer.eos ?? 0;
    for (let t = 0; t < T; t++) {
      inputIds[o + t] = t < n ? values[t]! : pad;
      attentionMask[o + t] = t < n ? 1 : 0;
      positionIds[o + t] = t;
      if (t + 1 < n && (mask === null || mask[t + 1] === 1)) labels[o + t] = values[t + 1]!;
    }
    return Math.min(n, T);
  }
}
