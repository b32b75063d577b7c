// Learning BPE merges from word counts (Sennrich et al., 2016), with the exact procedure and tie-breaking of
// Hugging Face tokenizers' BpeTrainer, so that the same counts give the same vocabulary and merges.

/** Options of the merge learner; the tokenizer-level training options are in `TrainBpeOptions`. */
export interface LearnMergesOptions {
  /** Stop when the vocabulary (special tokens + alphabet + merges) reaches this size. */
  vocabSize: number;
  /** A pair must occur at least this many times to be merged. */
  minFrequency: number;
  /** Tokens placed first in the vocabulary, in order. */
  specialTokens: string[];
  /** Characters always in the alphabet, seen or not (the 256 byte-level characters for byte-level BPE). */
  initialAlphabet: string[];
  /** Longest token, in characters; no limit when undefined. */
  maxTokenLength?: number;
}

export interface LearnedBpe {
  /** Token -> id, in id order. */
  vocab: Map<string, number>;
  /** Merges in rank order, as the pair of token strings merged. */
  merges: Array<[string, string]>;
}

/** A heap entry: merging `pair` is worth `count`; `pos` are the words where it was last seen. */
interface Candidate {
  count: number;
  a: number;
  b: number;
  pos: Set<number>;
}

/** True when x is merged before y: higher count first, then the smaller pair (a, then b). */
function before(x: Candidate, y: Candidate): boolean {
  if (x.count !== y.count) return x.count > y.count;
  return x.a !== y.a ? x.a < y.a : x.b < y.b;
}

class CandidateHeap {
  private items: Candidate[] = [];
  get size(): number {
    return this.items.length;
  }
  push(c: Candidate): void {
    const h = this.items;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): Candidate | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

// Pairs of ids as one number; ids stay far below 2^26.
const PAIR = 2 ** 26;
const key = (a: number, b: number) => a * PAIR + b;

/**
 * Learns merges from `wordCounts` (pre-tokenized words and how often each occurs).
 * Vocabulary order: special tokens, then the alphabet sorted by code point, then merged tokens.
 */
export function learnBpeMerges(wordCounts: Map<string, number>, options: LearnMergesOptions): LearnedBpe {
  const maxLength = options.maxTokenLength ?? Number.POSITIVE_INFINITY;
  const vocab = new Map<string, number>();
  const idToToken: string[] = [];
  const add = (token: string) => {
    if (!vocab.has(token)) {
      vocab.set(token, idToToken.length);
      idToToken.push(token);
    }
  };
  for (const t of options.specialTokens) add(t);

  // Alphabet: every character seen, plus the initial alphabet, sorted by code point.
  const alphabet = new Set<string>(options.initialAlphabet);
  for (const word of wordCounts.keys()) for (const ch of word) alphabet.add(ch);
  [...alphabet].sort((x, y) => x.codePointAt(0)! - y.codePointAt(0)!).forEach(add);

  // Words as symbol ids; each symbol's length (in characters) for maxTokenLength.
  const words: number[][] = [];
  const lengths: number[][] = [];
  const counts: number[] = [];
  for (const [word, count] of wordCounts) {
    const symbols: number[] = [];
    for (const ch of word) symbols.push(vocab.get(ch)!);
    words.push(symbols);
    lengths.push(symbols.map(() => 1));
    counts.push(count);
  }

  const pairCounts = new Map<number, number>();
  let whereToUpdate = new Map<number, Set<number>>();
  const note = (a: number, b: number, delta: number, word: number) => {
    const k = key(a, b);
    pairCounts.set(k, (pairCounts.get(k) ?? 0) + delta);
    if (delta > 0) {
      const set = whereToUpdate.get(k);
      if (set) set.add(word);
      else whereToUpdate.set(k, new Set([word]));
    }
  };
  for (const [w, symbols] of words.entries()) {
    for (let i = 0; i + 1 < symbols.length; i++) note(symbols[i]!, symbols[i + 1]!, counts[w]!, w);
  }

  const heap = new CandidateHeap();
  const flush = () => {
    for (const [k, pos] of whereToUpdate) {
      const count = pairCounts.get(k)!;
      if (count > 0) heap.push({ count, a: Math.floor(k / PAIR), b: k % PAIR, pos });
    }
    whereToUpdate = new Map();
  };
  flush();

  const merges: Array<[string, string]> = [];
  while (vocab.size < options.vocabSize && heap.size > 0) {
    const top = heap.pop()!;
    const current = pairCounts.get(key(top.a, top.b))!;
    if (top.count !== current) {
      // A stale entry: its count changed since it was queued. Requeue with the current count.
      top.count = current;
      heap.push(top);
      continue;
    }
    if (top.count < 1 || top.count < options.minFrequency) break;

    const token = idToToken[top.a]! + idToToken[top.b]!;
    add(token);
    const id = vocab.get(token)!;
    merges.push([idToToken[top.a]!, idToToken[top.b]!]);

    // Merge the pair in every word where it was seen, left to right, and record the pair counts that change.
    for (const w of top.pos) {
      const s = words[w]!;
      const len = lengths[w]!;
      for (let i = 0; i < s.length; i++) {
        if (s[i] !== top.a || i + 1 >= s.length || s[i + 1] !== top.b) continue;
        const merged = len[i]! + len[i + 1]!;
        const right = s[i + 1]!;
        if (i > 0) {
          note(s[i - 1]!, top.a, -counts[w]!, w);
          if (len[i - 1]! + merged < maxLength) note(s[i - 1]!, id, counts[w]!, w);
        }
        s.splice(i, 2, id);
        len.splice(i, 2, merged);
        if (i < s.length - 1) {
          note(right, s[i + 1]!, -counts[w]!, w);
          if (len[i + 1]! + merged < maxLength) note(id, s[i + 1]!, counts[w]!, w);
        }
      }
    }
    flush();
  }
  return { vocab, merges };
}
