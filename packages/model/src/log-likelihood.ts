// Log-likelihood of continuations given contexts (as lm-evaluation-harness `loglikelihood`): the model reads
// (context + continuation)[:-1] and the log-probabilities of the continuation tokens are summed; `isGreedy` says
// whether every continuation token was the argmax. Multiple-choice scoring compares these sums. Requests that share
// a long token prefix (the choices of one item: one context, several continuations) run that prefix once and each
// remainder on its key/value cache.
import type * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from './errors.js';
import { KVCache } from './kv-cache.js';
import type { LlamaForCausalLM } from './llama-model.js';

export interface LoglikelihoodRequest {
  context: number[];
  continuation: number[];
}

export interface LoglikelihoodResult {
  /** Σ log p(continuation token | everything before it), natural log. */
  logprob: number;
  /** True when each continuation token was the most likely token at its position. */
  isGreedy: boolean;
  /** Number of continuation tokens scored. */
  numTokens: number;
}

export interface LoglikelihoodOptions {
  /** Sequences per forward pass (default 8). */
  batchSize?: number;
  /** Longest input; longer ones lose tokens from the left of the context (default max_position_embeddings). */
  maxLength?: number;
  /**
   * Requests whose inputs share a prefix of at least this many tokens run it once (one forward pass over the prefix,
   * then each remainder on a copy of its key/value cache). The scores are the unshared ones up to float rounding (the
   * same products in another order). Default 16; 0 turns sharing off.
   */
  minSharedPrefix?: number;
}

interface Item {
  index: number;
  /** (context + continuation)[:-1], and the tokens each position predicts. */
  input: number[];
  targets: number[];
  /** Continuation tokens: the last `n` positions are scored. */
  n: number;
}

/** One position's scored token: the row of a logits tensor it is read from, and the item it adds to. */
interface Pick {
  row: number;
  target: number;
  item: number;
}

/** Sums picked log-probabilities per item; each item's `isGreedy` holds while every pick was the argmax. */
class Tally {
  readonly logprob: Float64Array;
  readonly greedy: boolean[];
  constructor(n: number) {
    this.logprob = new Float64Array(n);
    this.greedy = Array.from({ length: n }, () => true);
  }
  /**
   * Scores `picks` against the rows of `logits` (R, V); disposes `logits`. On the host, one pass per row for its
   * maximum (and argmax) and one for its log-sum-exp: a fraction of the tfjs log-softmax's time, which writes (R, V)
   * tensors several times over.
   */
  async add(logits: tf.Tensor2D, picks: readonly Pick[]): Promise<void> {
    const V = logits.shape[1];
    const data = (await logits.data()) as Float32Array;
    logits.dispose();
    const norm = new Map<number, { lse: number; argmax: number }>();
    for (const p of picks) {
      let row = norm.get(p.row);
      if (!row) {
        const x = data.subarray(p.row * V, (p.row + 1) * V);
        let argmax = 0;
        for (let v = 1; v < V; v++) if (x[v]! > x[argmax]!) argmax = v;
        const max = x[argmax]!;
        let sum = 0;
        for (let v = 0; v < V; v++) sum += Math.exp(x[v]! - max);
        row = { lse: max + Math.log(sum), argmax };
        norm.set(p.row, row);
      }
      this.logprob[p.item] = this.logprob[p.item]! + data[p.row * V + p.target]! - row.lse;
      if (row.argmax !== p.target) this.greedy[p.item] = false;
    }
  }
}

/** Length of the common prefix of a and b. */
function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

function compareIds(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Groups of 2 to `maxMembers` items whose inputs share at least `min` leading tokens (`prefix` of them, kept below
 * every member's length so each has a remainder), and the items left alone. Sorting the inputs puts shared prefixes
 * side by side; a prefix shared by more items than `maxMembers` (a few-shot header before every question) is run
 * once per group, so no pass is larger than a batch.
 */
function prefixGroups(
  items: Item[],
  min: number,
  maxMembers: number,
): { groups: { prefix: number; members: Item[] }[]; alone: Item[] } {
  const groups: { prefix: number; members: Item[] }[] = [];
  const alone: Item[] = [];
  const sorted = [...items].sort((a, b) => compareIds(a.input, b.input));
  let i = 0;
  while (i < sorted.length) {
    const first = sorted[i]!;
    let prefix = first.input.length - 1;
    let j = i + 1;
    for (; j < sorted.length && j - i < maxMembers; j++) {
      const x = sorted[j]!;
      const p = Math.min(prefix, commonPrefix(first.input, x.input), x.input.length - 1);
      if (p < min) break;
      prefix = p;
    }
    if (min > 0 && j - i >= 2) groups.push({ prefix, members: sorted.slice(i, j) });
    else alone.push(...sorted.slice(i, j));
    i = j;
  }
  return { groups, alone };
}

/** Scores each request; results are in request order. Leaves no tensors behind. */
export async function logLikelihood(
  model: LlamaForCausalLM,
  requests: LoglikelihoodRequest[],
  options: LoglikelihoodOptions = {},
): Promise<LoglikelihoodResult[]> {
  const c = model.config;
  const batchSize = options.batchSize ?? 8;
  const maxLength = options.maxLength ?? c.max_position_embeddings;
  const minShared = options.minSharedPrefix ?? 16;
  if (!Number.isInteger(minShared) || minShared < 0)
    throw new RangeError(`logLikelihood: minSharedPrefix must be an integer >= 0, got ${minShared}`);
  const items = requests.map((r, i) => {
    if (r.continuation.length === 0)
      throw new ShapeError(`request ${i} has an empty continuation`, 'logLikelihood', [null], [0]);
    let context = r.context;
    if (context.length === 0) {
      if (c.bos_token_id === null) {
        throw new ShapeError(
          `request ${i} has an empty context and the config has no bos_token_id`,
          'logLikelihood',
          [null],
          [0],
        );
      }
      context = [c.bos_token_id];
    }
    if (r.continuation.length > maxLength) {
      throw new ShapeError(
        `request ${i}: continuation of ${r.continuation.length} tokens exceeds maxLength ${maxLength}`,
        'logLikelihood',
        [maxLength],
        [r.continuation.length],
      );
    }
    const whole = [...context, ...r.continuation].slice(-(maxLength + 1));
    return { index: i, input: whole.slice(0, -1), targets: whole.slice(1), n: r.continuation.length };
  });
  const tally = new Tally(items.length);
  const { groups, alone } = prefixGroups(items, minShared, Math.max(2, batchSize));
  await scoreWhole(model, alone, batchSize, tally);
  // Groups in batches of at most `batchSize` remainders (or one group of 2 when batchSize is 1).
  for (let g = 0; g < groups.length; ) {
    const batch = [groups[g++]!];
    let rows = batch[0]!.members.length;
    while (g < groups.length && rows + groups[g]!.members.length <= batchSize) {
      rows += groups[g]!.members.length;
      batch.push(groups[g++]!);
    }
    await scoreShared(model, batch, tally);
  }
  return items.map((it) => ({
    logprob: tally.logprob[it.index]!,
    isGreedy: tally.greedy[it.index]!,
    numTokens: it.n,
  }));
}

/** Scores items whole, in batches of right-padded rows (longest first, so each batch pads little, as the harness). */
async function scoreWhole(model: LlamaForCausalLM, items: Item[], batchSize: number, tally: Tally) {
  const sorted = [...items].sort((a, b) => b.input.length - a.input.length);
  for (let start = 0; start < sorted.length; start += batchSize) {
    const batch = sorted.slice(start, start + batchSize);
    const T = batch[0]!.input.length;
    // Right padding: causal attention means padding after a sequence never affects its positions.
    const ids = batch.map((it) => [...it.input, ...Array(T - it.input.length).fill(0)]);
    // Only the continuation's positions are scored: the lm_head runs on those rows alone.
    const at: number[] = [];
    const picks: Pick[] = [];
    for (const [b, it] of batch.entries()) {
      const L = it.input.length;
      for (let j = L - it.n; j < L; j++) {
        picks.push({ row: at.length, target: it.targets[j]!, item: it.index });
        at.push(b * T + j);
      }
    }
    await tally.add(model.logitsAt(ids, at), picks);
  }
}

/**
 * Scores groups of items that share a prefix: one pass over the groups' prefixes (right-padded, into a KV cache),
 * the cache row of each group copied to each of its members, then one pass over the members' remainders, each at
 * the positions after its own prefix, with the padding between prefix and remainder masked out.
 */
async function scoreShared(
  model: LlamaForCausalLM,
  groups: { prefix: number; members: Item[] }[],
  tally: Tally,
) {
  const P = Math.max(...groups.map((g) => g.prefix));
  const members = groups.flatMap((g, gi) => g.members.map((it) => ({ it, gi, prefix: g.prefix })));
  const S = Math.max(...members.map((m) => m.it.input.length - m.prefix));
  const cache = new KVCache(model.config.num_hidden_layers, { capacity: P + S });
  try {
    // Prefix positions that are scored (a continuation can start inside the shared prefix): each group's row is
    // computed once, and every member reads its own target from it.
    const at: number[] = [];
    const picks: Pick[] = [];
    for (const [gi, g] of groups.entries()) {
      const first = Math.min(...g.members.map((it) => it.input.length - it.n));
      for (let j = first; j < g.prefix; j++) {
        for (const it of g.members) {
          if (j >= it.input.length - it.n)
            picks.push({ row: at.length, target: it.targets[j]!, item: it.index });
        }
        at.push(gi * P + j);
      }
    }
    const prefixIds = groups.map((g) => [
      ...g.members[0]!.input.slice(0, g.prefix),
      ...Array(P - g.prefix).fill(0),
    ]);
    const prefixMask = groups.map((g) => Array.from({ length: P }, (_, t) => (t < g.prefix ? 1 : 0)));
    // The prefix pass fills the cache whether or not a prefix position is scored.
    const prefixLogits = model.logitsAt(prefixIds, at.length ? at : [0], {
      cache,
      attentionMask: prefixMask,
    });
    if (at.length) await tally.add(prefixLogits, picks);
    else prefixLogits.dispose();
    cache.select(members.map((m) => m.gi));
    const ids: number[][] = [];
    const positions: number[][] = [];
    const mask: number[][] = [];
    const suffixAt: number[] = [];
    const suffixPicks: Pick[] = [];
    for (const [r, { it, prefix }] of members.entries()) {
      const L = it.input.length;
      ids.push([...it.input.slice(prefix), ...Array(S - (L - prefix)).fill(0)]);
      positions.push(Array.from({ length: S }, (_, t) => prefix + t));
      mask.push(
        Array.from({ length: P + S }, (_, t) => (t < prefix || (t >= P && t - P < L - prefix) ? 1 : 0)),
      );
      for (let j = Math.max(prefix, L - it.n); j < L; j++) {
        suffixPicks.push({ row: suffixAt.length, target: it.targets[j]!, item: it.index });
        suffixAt.push(r * S + (j - prefix));
      }
    }
    await tally.add(
      model.logitsAt(ids, suffixAt, { cache, positionIds: positions, attentionMask: mask }),
      suffixPicks,
    );
  } finally {
    cache.dispose();
  }
}
