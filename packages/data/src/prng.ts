// Seeded pseudo-random numbers and string hashes: deterministic across runs, platforms and Node versions.

/** splitmix32 step: a well-mixed 32-bit generator with a 32-bit state (Vigna's splitmix, 32-bit variant). */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/** Combines integers into one 32-bit seed (order matters): used to derive per-epoch and per-block seeds. */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    let x = p >>> 0;
    // Fold the high bits of large integers in too.
    const hi = Math.floor(p / 4294967296) >>> 0;
    for (const v of [x, hi]) {
      x = v;
      for (let i = 0; i < 4; i++) {
        h = Math.imul(h ^ (x & 0xff), 0x01000193) >>> 0;
        x >>>= 8;
      }
    }
  }
  return createRng(h)() * 4294967296;
}

/** 32-bit FNV-1a hash of a string's UTF-16 code units. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Integer in [lo, hi] inclusive. */
export function randInt(rng: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

export function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

/** Fisher-Yates permutation of 0..n-1 from `seed`. */
export function permutation(n: number, seed: number): Uint32Array {
  const rng = createRng(seed);
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
