// Random access into a tokenized dataset in an epoch's shard order: token ranges (for packing) and rows,
// loading shards on demand (each checked against the manifest) with the next one prefetched.
import { join } from 'node:path';
import type { Manifest } from './manifest.js';
import { readShard, type ShardData } from './shard-file.js';

/** Tokens `[start, end)` of the concatenated stream, with the loss mask and which tokens start a row. */
export interface TokenRange {
  values: Uint16Array | Uint32Array;
  /** 1 = trained; null for datasets without a loss mask (all trained). */
  mask: Uint8Array | null;
  /** 1 where a row (document) starts; null when not asked for. */
  rowStart: Uint8Array | null;
}

/** Rows `[start, end)`: row `i` is `values[offsets[i] .. offsets[i+1])`. */
export interface RowRange {
  offsets: Int32Array;
  values: Uint32Array;
  mask: Uint8Array | null;
}

/** Cumulative sums: `out[i]` = sum of `xs[0..i)`. */
function cumsum(xs: number[]): Float64Array {
  const out = new Float64Array(xs.length + 1);
  for (let i = 0; i < xs.length; i++) out[i + 1] = out[i]! + xs[i]!;
  return out;
}

/** The index `i` with `cum[i] <= x < cum[i+1]` (binary search). */
function locate(cum: Float64Array, x: number): number {
  let lo = 0;
  let hi = cum.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (cum[mid]! <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export class DatasetReader {
  private readonly cache = new Map<number, Promise<ShardData>>();
  /** Shard indices in this epoch's order, and cumulative tokens and rows in that order. */
  private order: Uint32Array = new Uint32Array(0);
  private cumTokens: Float64Array = new Float64Array(1);
  private cumRows: Float64Array = new Float64Array(1);

  constructor(
    readonly dir: string,
    readonly manifest: Manifest,
    private readonly verify: boolean,
  ) {}

  /** Sets the shard order (an epoch's permutation). */
  setOrder(order: Uint32Array): void {
    this.order = order;
    const shards = Array.from(order, (i) => this.manifest.shards[i]!);
    this.cumTokens = cumsum(shards.map((s) => s.tokens));
    this.cumRows = cumsum(shards.map((s) => s.rows));
  }

  get totalTokens(): number {
    return this.cumTokens[this.cumTokens.length - 1]!;
  }

  get totalRows(): number {
    return this.cumRows[this.cumRows.length - 1]!;
  }

  /** Loads shard `k` of the current order; keeps at most the two most recent and prefetches `k + 1`. */
  private shard(k: number): Promise<ShardData> {
    const index = this.order[k]!;
    let p = this.cache.get(index);
    if (!p) {
      const s = this.manifest.shards[index]!;
      p = readShard(join(this.dir, s.file), s, { verify: this.verify });
      this.cache.set(index, p);
    }
    const next = this.order[k + 1];
    // Keep this one and the next; drop the rest so memory stays at about two shards.
    for (const key of [...this.cache.keys()]) if (key !== index && key !== next) this.cache.delete(key);
    if (next !== undefined && !this.cache.has(next)) {
      const s = this.manifest.shards[next]!;
      const pre = readShard(join(this.dir, s.file), s, { verify: this.verify });
      pre.catch(() => {}); // an error surfaces when the shard is used
      this.cache.set(next, pre);
    }
    return p;
  }

  /** Tokens `[start, end)` of the stream (shards concatenated in the current order). */
  async tokens(start: number, end: number, options: { rowStarts?: boolean } = {}): Promise<TokenRange> {
    const n = end - start;
    const hasMask = this.manifest.columns.loss_mask !== undefined;
    const wantRowStarts = options.rowStarts ?? true;
    const k0 = locate(this.cumTokens, start);
    if (!wantRowStarts && end <= this.cumTokens[k0 + 1]!) {
      // Inside one shard: views of the shard's arrays, no copy.
      const d = await this.shard(k0);
      const from = start - this.cumTokens[k0]!;
      return {
        values: d.values.subarray(from, from + n),
        mask: d.mask ? d.mask.subarray(from, from + n) : null,
        rowStart: null,
      };
    }
    const out: TokenRange = {
      values: this.manifest.columns.input_ids === 'uint16' ? new Uint16Array(n) : new Uint32Array(n),
      mask: hasMask ? new Uint8Array(n) : null,
      rowStart: wantRowStarts ? new Uint8Array(n) : null,
    };
    let at = start;
    while (at < end) {
      const k = locate(this.cumTokens, at);
      const d = await this.shard(k);
      const base = this.cumTokens[k]!;
      const from = at - base;
      const to = Math.min(end - base, d.values.length);
      const o = at - start;
      out.values.set(d.values.subarray(from, to), o);
      if (d.mask && out.mask) out.mask.set(d.mask.subarray(from, to), o);
      if (out.rowStart) {
        // Row starts inside [from, to): binary search the first, then walk.
        let r = locateRow(d.offsets, from);
        if (d.offsets[r]! < from) r++;
        for (; r < d.rows && d.offsets[r]! < to; r++) out.rowStart[o + d.offsets[r]! - from] = 1;
      }
      at = base + to;
    }
    return out;
  }

  /** Rows `[start, end)` of the stream (rows of shards in the current order), gathered in one sequential pass. */
  async rows(start: number, end: number): Promise<RowRange> {
    const n = end - start;
    const parts: Array<{ d: ShardData; a: number; b: number }> = [];
    let tokens = 0;
    for (let at = start; at < end; ) {
      const k = locate(this.cumRows, at);
      const d = await this.shard(k);
      const a = at - this.cumRows[k]!;
      const b = Math.min(d.rows, end - this.cumRows[k]!);
      parts.push({ d, a, b });
      tokens += d.offsets[b]! - d.offsets[a]!;
      at += b - a;
    }
    const hasMask = this.manifest.columns.loss_mask !== undefined;
    const out: RowRange = {
      offsets: new Int32Array(n + 1),
      values: new Uint32Array(tokens),
      mask: hasMask ? new Uint8Array(tokens) : null,
    };
    let r = 0;
    let t = 0;
    for (const { d, a, b } of parts) {
      const [ta, tb] = [d.offsets[a]!, d.offsets[b]!];
      out.values.set(d.values.subarray(ta, tb), t);
      if (out.mask && d.mask) out.mask.set(d.mask.subarray(ta, tb), t);
      for (let i = a; i < b; i++) out.offsets[++r] = t + d.offsets[i + 1]! - ta;
      t += tb - ta;
    }
    return out;
  }
}

/** The row containing token `t` (largest r with offsets[r] <= t). */
function locateRow(offsets: Int32Array, t: number): number {
  let lo = 0;
  let hi = offsets.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid]! <= t) lo = mid;
    else hi = mid - 1;
  }
  return Math.max(0, lo);
}
