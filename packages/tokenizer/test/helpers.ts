// Shared test helpers: the ../shared data folder and a seeded random generator.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** ../shared/data beside the checkout (real public tokenizer and benchmark files; see its SOURCES.md). */
export const SHARED_DATA = fileURLToPath(new URL('../../../../shared/data', import.meta.url));
export const HAS_SHARED = existsSync(SHARED_DATA);
export const SKIP_SHARED = HAS_SHARED
  ? false
  : 'needs ../shared/data (real tokenizer files); not found beside the checkout';
if (!HAS_SHARED) console.warn(`[tokenizer tests] ${SKIP_SHARED}: those tests are skipped`);

/** mulberry32: a small seeded PRNG, so generated test inputs are the same on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random well-formed Unicode: ASCII, Latin, CJK, emoji, combining marks, control characters, whitespace runs. */
export function randomUnicode(rand: () => number, maxLength = 40): string {
  const pools: Array<() => number> = [
    () => 0x20 + Math.floor(rand() * 95), // printable ASCII
    () => [0x09, 0x0a, 0x0d, 0x20, 0x00, 0x1b, 0x7f][Math.floor(rand() * 7)]!, // whitespace and controls
    () => 0xc0 + Math.floor(rand() * 0x140), // Latin-1 and Latin Extended
    () => 0x4e00 + Math.floor(rand() * 0x5000), // CJK
    () => 0x1f300 + Math.floor(rand() * 0x300), // emoji (outside the BMP)
    () => 0x0300 + Math.floor(rand() * 0x70), // combining marks
    () => 0x0600 + Math.floor(rand() * 0x100), // Arabic
    () => 0x20000 + Math.floor(rand() * 0x2000), // CJK extension B (outside the BMP)
  ];
  let s = '';
  const n = Math.floor(rand() * maxLength);
  for (let i = 0; i < n; i++) s += String.fromCodePoint(pools[Math.floor(rand() * pools.length)]!());
  return s;
}
