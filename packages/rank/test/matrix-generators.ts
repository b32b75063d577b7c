// Bit-exact TypeScript twin of the matrix generator in tools/reference/rank-svd.py (see there).
import { readFileSync } from 'node:fs';
import type { Matrix64 } from '../src/matrix.js';

const MASK = (1n << 64n) - 1n;

/** splitmix64 (Steele, Lea & Flood 2014), with uniforms built from the top 53 bits: exact in any language. */
export class SplitMix64 {
  private state: bigint;
  constructor(seed: number) {
    this.state = BigInt(seed) & MASK;
  }
  next(): bigint {
    this.state = (this.state + 0x9e3779b97f4a7c15n) & MASK;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
    return z ^ (z >> 31n);
  }
  uniform(): number {
    return Number(this.next() >> 11n) * 2 ** -53;
  }
}

export interface GoldenCase {
  name: string;
  kind: 'uniform' | 'graded' | 'hilbert' | 'lowrank' | 'float32';
  rows: number;
  cols: number;
  seed?: number;
  exponent?: number;
  rank?: number;
  checksum: number;
  first: number[];
  s: number[];
  u?: number[][];
  vt?: number[][];
}

export function generate(spec: GoldenCase): Matrix64 {
  const { rows: m, cols: n } = spec;
  const a = new Float64Array(m * n);
  const rng = new SplitMix64(spec.seed ?? 0);
  switch (spec.kind) {
    case 'uniform':
      for (let i = 0; i < m * n; i++) a[i] = 2 * rng.uniform() - 1;
      break;
    case 'float32':
      for (let i = 0; i < m * n; i++) a[i] = Math.fround(2 * rng.uniform() - 1);
      break;
    case 'graded': {
      const e = spec.exponent!;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++)
          a[i * n + j] = (2 * rng.uniform() - 1) * 2 ** -Math.floor((e * j) / Math.max(n - 1, 1));
      }
      break;
    }
    case 'hilbert':
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) a[i * n + j] = 1 / (i + j + 1);
      break;
    case 'lowrank': {
      const r = spec.rank!;
      const b = Array.from({ length: m * r }, () => Math.floor(rng.uniform() * 7) - 3);
      const c = Array.from({ length: r * n }, () => Math.floor(rng.uniform() * 7) - 3);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < r; p++) s += b[i * r + p]! * c[p * n + j]!;
          a[i * n + j] = s;
        }
      }
      break;
    }
    default:
      throw new Error(`unknown kind ${spec.kind}`);
  }
  return { rows: m, cols: n, data: a };
}

export function loadGolden(): GoldenCase[] {
  const url = new URL('./fixtures/svd-golden.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { cases: GoldenCase[] }).cases;
}

/** Float64 entries of a seeded uniform [-1, 1) matrix (for tests that need no golden values). */
export function uniformMatrix(rows: number, cols: number, seed: number): Matrix64 {
  const rng = new SplitMix64(seed);
  const a = new Float64Array(rows * cols);
  for (let i = 0; i < a.length; i++) a[i] = 2 * rng.uniform() - 1;
  return { rows, cols, data: a };
}
