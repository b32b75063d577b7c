import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { smallTokenizer, tmp } from '../test/helpers.js';
import { type Batch, DataLoader, IGNORE_INDEX, type LoaderConfig } from './data-loader.js';
import { DataError } from './errors.js';
import { readManifest } from './manifest.js';
import { readShard } from './shard-file.js';
import { writeTokenizedDataset } from './write-dataset.js';

let dir: string;
let oneShard: string; // the same documents in a single shard
let stream: number[]; // every token of the dataset in shard order
let rowLengths: number[];

beforeAll(async () => {
  const tok = await smallTokenizer();
  dir = await tmp();
  // Brown category r (9 documents) in many small shards.
  await writeTokenizedDataset(tok, {
    outDir: dir,
    source: { kind: 'brown', categories: ['r'] },
    shardTokens: 6_000,
  });
  oneShard = await tmp();
  await writeTokenizedDataset(tok, { outDir: oneShard, source: { kind: 'brown', categories: ['r'] } });
  const m = await readManifest(dir);
  stream = [];
  rowLengths = [];
  for (const s of m.shards) {
    const d = await readShard(join(dir, s.file), s);
    stream.push(...d.values);
    for (let i = 0; i < d.rows; i++) rowLengths.push(d.offsets[i + 1]! - d.offsets[i]!);
  }
});

async function all(config: LoaderConfig, state?: Batch['state'], from = dir): Promise<Batch[]> {
  const loader = await DataLoader.open(from, config);
  const out: Batch[] = [];
  for await (const b of loader.batches(state)) out.push(b);
  return out;
}

/** The samples of batches as arrays of input ids. */
const samples = (batches: Batch[]) =>
  batches.flatMap((b) =>
    Array.from({ length: b.batchSize }, (_, i) =>
      Array.from(b.inputIds.subarray(i * b.seqLen, (i + 1) * b.seqLen)),
    ),
  );

describe('DataLoader (pack)', () => {
  it('without shuffle, cuts the token stream into sequences of seqLen + 1 with shifted labels', async () => {
    const T = 64;
    // Blocks of 3 sequences mostly lie inside one shard (read as views), blocks of 4096 span shards (copied).
    for (const shuffleBlock of [3, 4096]) await checkPlain(T, shuffleBlock);
  });

  async function checkPlain(T: number, shuffleBlock: number) {
    const batches = await all({ seqLen: T, batchSize: 8, shuffle: false, shuffleBlock });
    const n = Math.floor(stream.length / (T + 1));
    expect(batches.reduce((s, b) => s + b.batchSize, 0)).toBe(n);
    let k = 0;
    for (const b of batches) {
      for (let i = 0; i < b.batchSize; i++, k++) {
        const seq = stream.slice(k * (T + 1), (k + 1) * (T + 1));
        expect(Array.from(b.inputIds.subarray(i * T, (i + 1) * T))).toEqual(seq.slice(0, T));
        expect(Array.from(b.labels.subarray(i * T, (i + 1) * T))).toEqual(seq.slice(1));
      }
    }
    expect(batches.at(-1)!.batchSize).toBe(n % 8 || 8);
  }

  it('shuffles deterministically: each epoch is a permutation of the same sequences, different per epoch and seed', async () => {
    const T = 64;
    const n = Math.floor(stream.length / (T + 1));
    const run = async (seed: number, from: string) =>
      samples(
        await all({ seqLen: T, batchSize: 16, seed, epochs: 2, shuffleBlock: 32 }, undefined, from),
      ).map((s) => s.join(','));
    const a = await run(7, dir);
    expect(a).toHaveLength(2 * n);
    expect(await run(7, dir)).toEqual(a);
    expect(await run(8, dir)).not.toEqual(a);
    // Shard order changes where sequences are cut, so compare sets of sequences on a one-shard copy.
    const b = await run(7, oneShard);
    const plain = samples(await all({ seqLen: T, batchSize: 16, shuffle: false }, undefined, oneShard)).map(
      (s) => s.join(','),
    );
    const [e0, e1] = [b.slice(0, n), b.slice(n)];
    expect([...e0].sort()).toEqual([...plain].sort());
    expect([...e1].sort()).toEqual([...plain].sort());
    expect(e0).not.toEqual(e1);
    expect(e0).not.toEqual(plain);
    // Shuffling stays within blocks of 32: the first 32 samples are the first 32 sequences.
    expect([...e0.slice(0, 32)].sort()).toEqual([...plain.slice(0, 32)].sort());
  });

  it('resumes exactly from the state after any batch, across epoch boundaries', async () => {
    const config: LoaderConfig = { seqLen: 32, batchSize: 7, seed: 3, epochs: 3, shuffleBlock: 20 };
    const full = await all(config);
    const perEpoch = (await DataLoader.open(dir, config)).samplesPerEpoch;
    expect(perEpoch % 7).not.toBe(0); // so some batch holds samples of two epochs
    const crossing = full.findIndex((b) => b.state.epoch === 1 && b.state.sample < 7);
    for (const k of [0, 3, crossing - 1, crossing, full.length - 2]) {
      const state = JSON.parse(JSON.stringify(full[k]!.state));
      const rest = await all(config, state);
      expect(rest.length).toBe(full.length - k - 1);
      expect(samples(rest)).toEqual(samples(full.slice(k + 1)));
      expect(rest.map((b) => Array.from(b.labels))).toEqual(
        full.slice(k + 1).map((b) => Array.from(b.labels)),
      );
    }
  });

  it('skips to a position without reading the data before it', async () => {
    const config: LoaderConfig = { seqLen: 32, batchSize: 4, shuffle: false, shuffleBlock: 8 };
    const full = await all(config);
    const k = full.length - 3;
    // Damage the first shard: resuming near the end must not touch it.
    const m = await readManifest(dir);
    const first = join(dir, m.shards[0]!.file);
    const { readFileSync } = await import('node:fs');
    const original = readFileSync(first);
    try {
      writeFileSync(first, Buffer.from('not a shard'));
      expect(samples(await all(config, full[k]!.state))).toEqual(samples(full.slice(k + 1)));
      await expect(all(config)).rejects.toThrow(DataError);
    } finally {
      writeFileSync(first, original);
    }
  });

  it('rows mode: each epoch visits every row once across shards, and resumes exactly', async () => {
    const T = 64;
    const config: LoaderConfig = {
      mode: 'rows',
      seqLen: T,
      batchSize: 2,
      seed: 5,
      shuffleBlock: 4,
      epochs: 2,
    };
    const full = await all(config);
    const got = samples(full).map((x) => x.join(','));
    const heads: string[] = [];
    let at = 0;
    for (const len of rowLengths) {
      heads.push(stream.slice(at, at + T).join(','));
      at += len;
    }
    expect(got).toHaveLength(2 * rowLengths.length);
    expect([...got.slice(0, rowLengths.length)].sort()).toEqual([...heads].sort());
    expect([...got.slice(rowLengths.length)].sort()).toEqual([...heads].sort());
    for (const k of [1, 4, 6])
      expect(samples(await all(config, full[k]!.state))).toEqual(samples(full.slice(k + 1)));
  });

  it('refuses a state saved with other settings', async () => {
    const [b] = await all({ seqLen: 32, batchSize: 4 });
    await expect(all({ seqLen: 33, batchSize: 4 }, b!.state)).rejects.toThrow(
      /loader state was saved with another/,
    );
  });

  it('gives ranks disjoint samples whose union is the epoch, with equal counts', async () => {
    const base = { seqLen: 16, batchSize: 5, seed: 1, shuffleBlock: 50 };
    const one = samples(await all(base)).map((s) => s.join(','));
    const ranks = await Promise.all(
      [0, 1, 2].map(async (rank) =>
        samples(await all({ ...base, rank, worldSize: 3 })).map((s) => s.join(',')),
      ),
    );
    const n = Math.floor(one.length / 3);
    expect(ranks.map((r) => r.length)).toEqual([n, n, n]);
    // Rank r takes positions r, r + 3, r + 6, ... of the single-process order.
    for (const [r, got] of ranks.entries())
      expect(got).toEqual(one.filter((_, p) => p % 3 === r).slice(0, n));
  });

  it('keeps document boundaries: position ids restart, no label crosses documents, segments sum to seqLen', async () => {
    const T = 512;
    const batches = await all({ seqLen: T, batchSize: 4, shuffle: false, keepDocumentBoundaries: true });
    const starts = new Set<number>();
    let at = 0;
    for (const len of rowLengths) {
      starts.add(at);
      at += len;
    }
    let k = 0;
    let restarts = 0;
    for (const b of batches) {
      for (let i = 0; i < b.batchSize; i++, k++) {
        const segs = b.segments![i]!;
        expect(segs.reduce((s, x) => s + x, 0)).toBe(T);
        let seg = 0;
        let inSeg = 0;
        const wantLabels: number[] = [];
        const wantPositions: number[] = [];
        for (let t = 0; t < T; t++) {
          const g = k * (T + 1) + t;
          if (t > 0 && starts.has(g)) restarts++;
          wantLabels.push(starts.has(g + 1) ? IGNORE_INDEX : stream[g + 1]!);
          if (inSeg === segs[seg]) {
            seg++;
            inSeg = 0;
            expect(starts.has(g)).toBe(true);
          }
          wantPositions.push(inSeg++);
        }
        expect(Array.from(b.labels.subarray(i * T, (i + 1) * T))).toEqual(wantLabels);
        expect(Array.from(b.positionIds.subarray(i * T, (i + 1) * T))).toEqual(wantPositions);
      }
    }
    expect(restarts).toBeGreaterThan(3);
  });
});
