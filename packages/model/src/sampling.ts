import { sampleRowsNative } from '@loralab/kernels';

// Token choice from a row of logits on the host: greedy, or temperature / top-k / top-p (nucleus, Holtzman et al.
// 2020) sampling from a seeded generator, with Hugging Face's order: temperature, then top-k, then top-p.

/** Seeded uniform [0, 1) generator (mulberry32): the same seed gives the same draws everywhere. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SamplingOptions {
  /** 0 (default) = greedy; otherwise logits are divided by it before sampling. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined = all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 or undefined = all). */
  topP?: number;
}

/** Index of the largest value (the first on ties). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Scratch arrays reused across calls (sampling is synchronous), grown to the largest vocabulary seen. */
let scratch = {
  p: new Float64Array(0),
  ids: new Uint32Array(0),
  keys: new Uint32Array(0),
  tmp: new Uint32Array(0),
};
const scratchFor = (V: number) => {
  if (scratch.p.length < V) {
    const [ids, keys, tmp] = [new Uint32Array(V), new Uint32Array(V), new Uint32Array(V)];
    scratch = { p: new Float64Array(V), ids, keys, tmp };
  }
  return scratch;
};
const radixCounts = new Uint32Array(256);

/**
 * Sorts ids[0..n) (ascending on entry) in place by rank: the larger logit first, the smaller id on ties. A
 * Float32Array row (what generation reads back) is ranked by a stable radix sort of its values' bits, made
 * order-preserving and inverted, so ties keep their ascending ids; any other row by comparison.
 */
function rank(row: ArrayLike<number>, ids: Uint32Array, n: number): void {
  const s = scratchFor(row.length);
  if (!(row instanceof Float32Array)) {
    ids.set(Array.from(ids.subarray(0, n)).sort((a, b) => row[b]! - row[a]! || a - b));
    return;
  }
  const bits = new Uint32Array(row.buffer, row.byteOffset, row.length);
  // (ids, keys) and (tmp, keysOut) swap roles each pass; 4 passes leave the result where it started
  let order: Uint32Array = ids;
  let keys: Uint32Array = s.keys;
  let orderOut: Uint32Array = s.tmp;
  let keysOut: Uint32Array = new Uint32Array(n);
  for (let j = 0; j < n; j++) {
    const b = bits[ids[j]!]!;
    // ascending key = descending value; -0 (0x80000000) ranks with +0
    keys[j] = b & 0x80000000 && b !== 0x80000000 ? b : ~b & 0x7fffffff;
  }
  for (let shift = 0; shift < 32; shift += 8) {
    radixCounts.fill(0);
    for (let j = 0; j < n; j++) {
      const d = (keys[j]! >>> shift) & 255;
      radixCounts[d] = radixCounts[d]! + 1;
    }
    for (let d = 0, at = 0; d < 256; d++) {
      const c = radixCounts[d]!;
      radixCounts[d] = at;
      at += c;
    }
    for (let j = 0; j < n; j++) {
      const d = (keys[j]! >>> shift) & 255;
      const to = radixCounts[d]!;
      radixCounts[d] = to + 1;
      keysOut[to] = keys[j]!;
      orderOut[to] = order[j]!;
    }
    [order, orderOut] = [orderOut, order];
    [keys, keysOut] = [keysOut, keys];
  }
}

/**
 * The tokens that sampling may choose, most likely first, with their unnormalised probabilities (the
 * temperature-scaled softmax numerators) and their total: cut to the top k, then to the top-p nucleus. Only
 * candidates are ranked: tokens are bucketed by ⌊(max − logit) / temperature⌋, a bucket's tokens are a contiguous
 * run of the ranking, and the buckets down to the one where the count reaches k, or the mass reaches p, hold the
 * cut that ranking all V would make (checked, with all V ranked when rounding says otherwise).
 */
function candidates(row: ArrayLike<number>, options: SamplingOptions, temperature: number) {
  const V = row.length;
  const { p, ids } = scratchFor(V);
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (row[i]! > max) max = row[i]!;
  const BUCKETS = 64; // the last holds every token below e^-63 of the most likely
  const bucketMass = new Float64Array(BUCKETS);
  const bucketCount = new Uint32Array(BUCKETS);
  let all = 0;
  for (let i = 0; i < V; i++) {
    const z = (max - row[i]!) / temperature;
    all += p[i] = Math.exp(-z);
    const b = z < BUCKETS - 1 ? Math.floor(z) : BUCKETS - 1;
    bucketMass[b] = bucketMass[b]! + p[i]!;
    bucketCount[b] = bucketCount[b]! + 1;
  }
  const topK = options.topK && options.topK > 0 && options.topK < V ? options.topK : V;
  const topP = options.topP ?? 1;
  let limit = BUCKETS - 1;
  if (topK < V || topP < 1) {
    let mass = 0;
    let count = 0;
    for (let b = 0; b < BUCKETS; b++) {
      mass += bucketMass[b]!;
      count += bucketCount[b]!;
      if (topK < V ? count >= topK : mass >= topP * all) {
        limit = b;
        break;
      }
    }
  }
  for (const last of limit < BUCKETS - 1 ? [limit, BUCKETS - 1] : [limit]) {
    let n = 0;
    for (let i = 0; i < V; i++)
      if ((max - row[i]!) / temperature < last + 1 || last === BUCKETS - 1) ids[n++] = i;
    rank(row, ids, n);
    n = Math.min(n, topK);
    let total = all;
    if (topK < V) {
      total = 0;
      for (let j = 0; j < n; j++) total += p[ids[j]!]!;
    }
    if (topP < 1) {
      // keep tokens while the probability mass before them is below top_p (at least one)
      let mass = 0;
      let keep = 0;
      while (keep < n && (keep === 0 || mass < topP * total)) mass += p[ids[keep++]!]!;
      if (last < BUCKETS - 1 && mass < topP * total) continue; // rounding: the nucleus reaches further
      n = keep;
      total = mass;
    }
    return { order: ids.subarray(0, n), p, total };
  }
  throw new Error('unreachable: the last bucket admits every token');
}

/** Chooses one token id from `row` (V logits). */
export function sampleToken(row: ArrayLike<number>, options: SamplingOptions, rng: () => number): number {
  const temperature = options.temperature ?? 0;
  if (temperature <= 0) return argmax(row);
  return sampleWithDraw(row, options, temperature, rng());
}

/**
 * Chooses one token id for each of the B rows of `logits` (B·V, row-major): the tokens, and the draws taken from
 * `rng` (one per row, in row order), are those of `sampleToken` row by row. On the native backend the rows are
 * sampled by the addon's kernel, in parallel.
 */
export function sampleTokens(
  logits: Float32Array,
  V: number,
  options: SamplingOptions,
  rng: () => number,
): Int32Array {
  const B = logits.length / V;
  const temperature = options.temperature ?? 0;
  const row = (b: number) => logits.subarray(b * V, (b + 1) * V);
  if (temperature <= 0) return Int32Array.from({ length: B }, (_, b) => argmax(row(b)));
  const u = Float64Array.from({ length: B }, () => rng());
  return (
    sampleRowsNative(logits, V, u, { ...options, temperature }) ??
    Int32Array.from({ length: B }, (_, b) => sampleWithDraw(row(b), options, temperature, u[b]!))
  );
}

/** The token that the draw u ∈ [0, 1) chooses among the candidates of `row`. */
function sampleWithDraw(row: ArrayLike<number>, options: SamplingOptions, temperature: number, draw: number) {
  const { order, p, total } = candidates(row, options, temperature);
  let u = draw * total;
  for (const i of order) {
    u -= p[i]!;
    if (u < 0) return i;
  }
  return order[order.length - 1]!;
}
