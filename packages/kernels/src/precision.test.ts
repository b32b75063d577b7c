import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { maxDiff, NATIVE, registration, runOn, SKIP_NATIVE, uniform } from '../test/helpers.js';
import type { NativeAddon } from './addon.js';
import { ConfigError } from './errors.js';
import { linearCrossEntropy } from './linear-cross-entropy.js';
import { loraLinear } from './lora-linear.js';
import { broadcastBatchIndices } from './matmul.js';
import type { NativeBackend } from './native-backend.js';
import { bf16Supported, getMatmulPrecision, type MatmulPrecision, setMatmulPrecision } from './precision.js';

const SKIP_BF16 = SKIP_NATIVE || !bf16Supported();
if (!SKIP_NATIVE && SKIP_BF16) {
  console.warn(
    'kernels tests: bf16 tests skipped: this CPU lacks AVX-512 BF16 (avx512_bf16 in /proc/cpuinfo)',
  );
}

// Reference: torch's bf16 rounding (c10::BFloat16 round_to_nearest_even) in JS, then the product in float64.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bf16(x: number): number {
  f32[0] = x;
  const u = u32[0]!;
  u32[0] = ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16;
  return f32[0]!;
}

/** C = alpha·op(A)·op(B) + beta·C0 in float64 from bf16-rounded A and B; with each entry's error bound. */
function reference(
  A: Float32Array,
  B: Float32Array,
  C0: Float32Array,
  m: number,
  n: number,
  k: number,
  ta: boolean,
  tb: boolean,
  alpha: number,
  beta: number,
  round = bf16,
): { c: Float64Array; tol: Float64Array } {
  const c = new Float64Array(m * n);
  const tol = new Float64Array(m * n);
  // fp32 sums: k/2 vdpbf16ps steps of two products each, plus two roundings (alpha·acc + C) per block of 256 k;
  // each rounding errs by at most 2⁻²⁴ of the running |sum| ≤ Σ|a·b|, so (1.02·k + 8)·2⁻²⁴·Σ|a·b| bounds it.
  const u = 2 ** -24;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let abs = 0;
      for (let p = 0; p < k; p++) {
        const ab = round(ta ? A[p * m + i]! : A[i * k + p]!) * round(tb ? B[j * k + p]! : B[p * n + j]!);
        s += ab;
        abs += Math.abs(ab);
      }
      const prior = beta * C0[i * n + j]!;
      c[i * n + j] = alpha * s + prior;
      tol[i * n + j] = (1.02 * k + 8) * u * (Math.abs(alpha) * abs + Math.abs(prior)) + 1e-30;
    }
  }
  return { c, tol };
}

/** max over entries of |got − want| / tol (≤ 1 passes). */
function worst(got: Float32Array, want: Float64Array, tol: Float64Array): number {
  let w = 0;
  for (let i = 0; i < want.length; i++) {
    const r = Math.abs(got[i]! - want[i]!) / tol[i]!;
    w = Number.isNaN(r) ? Number.POSITIVE_INFINITY : Math.max(w, r);
  }
  return w;
}

const ONE = new Int32Array(1);
/** The addon's bf16gemm (sgemm's arguments), only called where SKIP_BF16 is false. */
const bf16gemm: NonNullable<NativeAddon['bf16gemm']> = (...args) => {
  if (!registration.registered) throw new Error('the addon is not loaded');
  (tf.engine().findBackend(NATIVE) as NativeBackend).addon.bf16gemm!(...args);
};

describe('setMatmulPrecision', () => {
  afterEach(() => {
    setMatmulPrecision('fp32');
  });

  it('rejects an unknown precision with a ConfigError and keeps the current one', () => {
    expect(() => setMatmulPrecision('fp16' as MatmulPrecision)).toThrow(ConfigError);
    expect(getMatmulPrecision()).toBe('fp32');
  });

  it('says when bf16 falls back to fp32, and otherwise returns bf16', () => {
    const lines: string[] = [];
    const got = setMatmulPrecision('bf16', (l) => lines.push(l));
    expect(got).toBe(bf16Supported() ? 'bf16' : 'fp32');
    expect(lines.length).toBe(bf16Supported() ? 0 : 1);
    expect(getMatmulPrecision()).toBe(got);
  });
});

describe.skipIf(SKIP_BF16)('bf16 GEMM (native/bf16-gemm.cc) against bf16-rounded operands in float64', () => {
  // Sizes around the kernel's blocks: tiles of 6 rows × 64 columns, 128 pairs of k (256 k) per block, 768 columns
  // per B block; size 1, odd k (the last pair's second half is padding), tails in every dimension.
  const dims: [number, number, number][] = [
    [1, 1, 1],
    [1, 17, 3],
    [5, 1, 2],
    [7, 5, 3],
    [6, 64, 256],
    [13, 70, 33],
    [37, 129, 257],
    [25, 800, 9],
    [19, 65, 601],
  ];
  const cases = dims.flatMap(([m, n, k]) =>
    [false, true].flatMap((ta) => [false, true].map((tb) => ({ m, n, k, ta, tb }))),
  );

  it.each(cases)('m $m, n $n, k $k, transA $ta, transB $tb, alpha 0.75, beta 0.5', ({ m, n, k, ta, tb }) => {
    const A = uniform([m * k], m * 31 + k).data as Float32Array;
    const B = uniform([k * n], n * 17 + k).data as Float32Array;
    const C0 = uniform([m * n], 7).data as Float32Array;
    const C = C0.slice();
    bf16gemm(A, B, C, 1, ONE, ONE, m, n, k, ta, tb, 0.75, 0.5);
    const { c, tol } = reference(A, B, C0, m, n, k, ta, tb, 0.75, 0.5);
    expect(worst(C, c, tol)).toBeLessThanOrEqual(1);
  });

  it('rounds the operands: the result is far from the fp32 operands’ product, and beta = 0 ignores NaN in C', () => {
    const [m, n, k] = [16, 48, 200];
    const A = uniform([m * k], 1).data as Float32Array;
    const B = uniform([k * n], 2).data as Float32Array;
    const C = new Float32Array(m * n).fill(Number.NaN);
    bf16gemm(A, B, C, 1, ONE, ONE, m, n, k, false, false);
    const rounded = reference(A, B, C, m, n, k, false, false, 1, 0);
    const exact = reference(A, B, C, m, n, k, false, false, 1, 0, (x) => x);
    expect(worst(C, rounded.c, rounded.tol)).toBeLessThanOrEqual(1);
    // bf16 keeps 8 significant bits: the unrounded product differs by ~2⁻⁹ relative, hundreds of tolerances
    expect(worst(C, exact.c, exact.tol)).toBeGreaterThan(50);
  });

  it('batched with numpy broadcast of the batch dims: (2, 1, m, k) · (3, n, k)ᵀ', () => {
    const [m, n, k] = [9, 20, 37];
    const { aIdx, bIdx } = broadcastBatchIndices([2, 1], [3]);
    const A = uniform([2 * m * k], 3).data as Float32Array;
    const B = uniform([3 * n * k], 4).data as Float32Array;
    const C = new Float32Array(6 * m * n);
    bf16gemm(A, B, C, 6, aIdx, bIdx, m, n, k, false, true);
    for (let i = 0; i < 6; i++) {
      const a = A.subarray(aIdx[i]! * m * k, (aIdx[i]! + 1) * m * k);
      const b = B.subarray(bIdx[i]! * n * k, (bIdx[i]! + 1) * n * k);
      const { c, tol } = reference(a, b, new Float32Array(m * n), m, n, k, false, true, 1, 0);
      expect(worst(C.subarray(i * m * n, (i + 1) * m * n), c, tol), `batch ${i}`).toBeLessThanOrEqual(1);
    }
  });
});

describe.skipIf(SKIP_BF16)('the native kernels in bf16 precision', () => {
  afterEach(() => {
    setMatmulPrecision('fp32');
  });

  it('tf.matMul and its gradient (transposed products) run the bf16 products, batched, no leaks', async () => {
    const a = uniform([2, 3, 33, 40], 5);
    const b = uniform([2, 3, 40, 21], 6);
    const dy = uniform([2, 3, 33, 21], 7);
    const f = (x: tf.Tensor, y: tf.Tensor, g: tf.Tensor) => {
      const [gx, gy] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.matMul(p, q))([x, y], g);
      return [tf.matMul(x, y), gx!, gy!];
    };
    setMatmulPrecision('bf16');
    const [y, gx, gy] = await runOn(NATIVE, [a, b, dy], f);
    setMatmulPrecision('fp32');
    const [y32] = await runOn(NATIVE, [a, b, dy], f);
    // y[0, 1] against the reference
    const [m, k, n] = [33, 40, 21];
    const ref = reference(
      (a.data as Float32Array).subarray(m * k, 2 * m * k),
      (b.data as Float32Array).subarray(k * n, 2 * k * n),
      new Float32Array(m * n),
      m,
      n,
      k,
      false,
      false,
      1,
      0,
    );
    expect(worst(y!.subarray(m * n, 2 * m * n), ref.c, ref.tol)).toBeLessThanOrEqual(1);
    // dx = dy bᵀ: entry (0, 0, 0, 0) from the bf16-rounded operands
    let dx0 = 0;
    for (let j = 0; j < n; j++) dx0 += bf16(dy.data[j]!) * bf16(b.data[j]!);
    expect(Math.abs(gx![0]! - dx0)).toBeLessThanOrEqual(1e-5);
    expect(gy!.length).toBe(6 * k * n);
    // and bf16 differs from fp32 by bf16's rounding, not more: |Δ| ≤ 2⁻⁷ · Σ|a||b| ≤ 2⁻⁷ · k
    const d = maxDiff(y!, y32!).diff;
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThanOrEqual(k * 2 ** -7);
  });

  it('loraLinear and linearCrossEntropy follow the precision: close to fp32, not equal to it', async () => {
    const x = uniform([45, 32], 1);
    const w = uniform([24, 32], 2, 0.2);
    const la = uniform([4, 32], 3, 0.2);
    const lb = uniform([24, 4], 4, 0.2);
    const labels = {
      shape: [45],
      data: Int32Array.from({ length: 45 }, (_, i) => (i * 7) % 24),
      dtype: 'int32' as const,
    };
    const f = (xs: tf.Tensor, ws: tf.Tensor, as: tf.Tensor, bs: tf.Tensor, ls: tf.Tensor) => {
      const lora = (p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) =>
        tf.sum(loraLinear(p as tf.Tensor2D, ws as tf.Tensor2D, q as tf.Tensor2D, r as tf.Tensor2D, 2));
      const g = tf.grads(lora)([xs, as, bs]);
      const head = (p: tf.Tensor, q: tf.Tensor) =>
        linearCrossEntropy(p as tf.Tensor2D, q as tf.Tensor2D, ls as tf.Tensor1D);
      const lce = tf.grads(head)([xs, ws]);
      return [lora(xs, as, bs), ...g, head(xs, ws), ...lce];
    };
    setMatmulPrecision('bf16');
    const lo = await runOn(NATIVE, [x, w, la, lb, labels], f);
    setMatmulPrecision('fp32');
    const hi = await runOn(NATIVE, [x, w, la, lb, labels], f);
    // [y, dx, dA, dB, loss, dh, dW]: dA = s · (dy B)ᵀ x is the fused adapter pass's alone, fp32 in either precision
    // (dy = 1 here); dB = s · dyᵀ t uses the forward pass's bf16 t.
    for (let i = 0; i < hi.length; i++) {
      const { diff, scale } = maxDiff(lo[i]!, hi[i]!);
      if (i === 2) {
        expect(diff, 'dA').toBe(0);
        continue;
      }
      expect(diff, `output ${i}`).toBeGreaterThan(0);
      expect(diff, `output ${i}`).toBeLessThanOrEqual(2e-2 * scale + 1e-4);
    }
  });
});
