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

/** Chooses one token id from `row` (V logits). */
export function sampleToken(row: ArrayLike<number>, options: SamplingOptions, rng: () => number): number {
  const temperature = options.temperature ?? 0;
  if (temperature <= 0) return argmax(row);
  const V = row.length;
  let order = Array.from({ length: V }, (_, i) => i).sort((a, b) => row[b]! - row[a]! || a - b);
  if (options.topK && options.topK > 0 && options.topK < V) order = order.slice(0, options.topK);
  const max = row[order[0]!]!;
  let probs = order.map((i) => Math.exp((row[i]! - max) / temperature));
  let total = probs.reduce((a, b) => a + b, 0);
  const topP = options.topP ?? 1;
  if (topP < 1) {
    // keep tokens while the probability mass before them is below top_p (at least one)
    let mass = 0;
    let keep = 0;
    while (keep < order.length && (keep === 0 || mass < topP * total)) mass += probs[keep++]!;
    order = order.slice(0, keep);
    probs = probs.slice(0, keep);
    total = mass;
  }
  let u = rng() * total;
  for (let i = 0; i < order.length; i++) {
    u -= probs[i]!;
    if (u < 0) return order[i]!;
  }
  return order[order.length - 1]!;
}
