// Each fused op against its tfjs reference composite run on the tfjs `cpu` backend: forward values and the
// gradients of Σ op(x)·r for a random cotangent r. Tolerances are stated per op (float32, values O(1)).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { type Input, maxDiff, NATIVE, runOn, SKIP_NATIVE, uniform, weightedSum } from '../test/helpers.js';
import { causalAttention, causalAttentionReference } from './causal-attention.js';
import { crossEntropy, crossEntropyReference } from './cross-entropy.js';
import { loraLinear, loraLinearReference } from './lora-linear.js';
import { rmsNorm, rmsNormReference } from './rms-norm.js';
import { applyRope, ropeReference } from './rope.js';
import { swiglu, swigluReference } from './swiglu.js';

/** Compares op on native with ref on cpu, forward and gradients w.r.t. the first `nGrad` inputs. */
async function compare(
  inputs: Input[],
  op: (...xs: tf.Tensor[]) => tf.Tensor,
  ref: (...xs: tf.Tensor[]) => tf.Tensor,
  nGrad: number,
  fwdTol: number,
  gradTol: number,
): Promise<void> {
  const [got] = await runOn(NATIVE, inputs, op);
  const [want] = await runOn('cpu', inputs, ref);
  expect(maxDiff(got!, want!).diff).toBeLessThanOrEqual(fwdTol);
  const grads =
    (f: (...xs: tf.Tensor[]) => tf.Tensor) =>
    (...xs: tf.Tensor[]) =>
      tf.grads((...ys: tf.Tensor[]) => weightedSum(f(...ys, ...xs.slice(nGrad)), 99))(xs.slice(0, nGrad));
  const g = await runOn(NATIVE, inputs, grads(op));
  const r = await runOn('cpu', inputs, grads(ref));
  for (let i = 0; i < nGrad; i++) {
    const { diff, scale } = maxDiff(g[i]!, r[i]!);
    expect(diff, `gradient ${i}`).toBeLessThanOrEqual(gradTol * Math.max(1, scale));
  }
}

describe.skipIf(SKIP_NATIVE)('fused ops match their tfjs references', () => {
  // RMSNorm: y and dx are O(1); tolerance 1e-5 forward, 1e-4 relative for gradients (dw sums over rows).
  it.each([
    [1, 1],
    [3, 7],
    [33, 128],
    [2, 5, 65],
  ])('rmsNorm on %s x %s', async (...shape: number[]) => {
    const d = shape[shape.length - 1]!;
    await compare(
      [uniform(shape, 1, 2), uniform([d], 2)],
      (x, w) => rmsNorm(x!, w!, 1e-5),
      (x, w) => rmsNormReference(x!, w!, 1e-5),
      2,
      1e-5,
      1e-4,
    );
  });

  // SwiGLU: elementwise, tolerance 1e-5 (fast_exp has relative error < 2e-7).
  it.each([[[1]], [[7, 13]], [[3, 4, 33]]])('swiglu on %j', async (shape: number[]) => {
    await compare(
      [uniform(shape, 3, 4), uniform(shape, 4)],
      (g, u) => swiglu(g!, u!),
      (g, u) => swigluReference(g!, u!),
      2,
      1e-5,
      1e-5,
    );
  });

  // RoPE with per-batch and shared tables (angles from positions, like the model's ropeTables).
  it.each([
    [2, 3, 5, 8, 1],
    [2, 2, 7, 6, 2],
  ])('rope on x (%i, %i, %i, %i), tables of batch %i', async (B, H, T, hd, Bc) => {
    const half = hd / 2;
    const cos = new Float32Array(Bc * T * hd);
    const sin = new Float32Array(Bc * T * hd);
    for (let b = 0; b < Bc; b++) {
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < half; i++) {
          const angle = (t + 3 * b) * 10000 ** ((-2 * i) / hd);
          for (const j of [i, i + half]) {
            cos[(b * T + t) * hd + j] = Math.cos(angle);
            sin[(b * T + t) * hd + j] = Math.sin(angle);
          }
        }
      }
    }
    await compare(
      [uniform([B, H, T, hd], 5), { shape: [Bc, 1, T, hd], data: cos }, { shape: [Bc, 1, T, hd], data: sin }],
      (x, c, s) => applyRope(x!, c!, s!),
      (x, c, s) => ropeReference(x!, c!, s!),
      1,
      1e-6,
      1e-6,
    );
  });

  // Causal attention, multi-head and grouped-query, odd lengths, one to three query blocks of 128 rows (the last one
  // partial); tolerance 1e-5 forward, 1e-4 gradients.
  it.each([
    [1, 1, 1, 1, 4],
    [2, 4, 4, 9, 8],
    [2, 4, 2, 17, 16],
    [1, 6, 1, 33, 5],
    [1, 4, 2, 129, 8],
    [2, 2, 1, 300, 6],
  ])('causalAttention B %i nh %i nkv %i T %i hs %i', async (B, nh, nkv, T, hs) => {
    await compare(
      [uniform([B, nh, T, hs], 6, 2), uniform([B, nkv, T, hs], 7, 2), uniform([B, nkv, T, hs], 8)],
      (q, k, v) => causalAttention(q!, k!, v!),
      (q, k, v) => causalAttentionReference(q!, k!, v!),
      3,
      1e-5,
      1e-4,
    );
  });

  // Cross-entropy with ignored rows; loss and dlogits within 1e-5.
  it.each([
    [1, 2, [1]],
    [6, 11, [1, -100, 3, 10, 0, -100]],
    [2, 3, [-100, 0, -100, 4, 6, 1], 7],
  ] as [number, number, number[], number?][])('crossEntropy rows %i x %i', async (a, b, labels, V = 0) => {
    const shape = V > 0 ? [a, b, V] : [a, b];
    const rows = V > 0 ? a * b : a;
    const vocab = V > 0 ? V : b;
    const data = Int32Array.from(labels.slice(0, rows));
    await compare(
      [uniform(shape, 9, 5), { shape: shape.slice(0, -1), data, dtype: 'int32' }],
      (x, y) => crossEntropy(x!, y!),
      (x, y) => crossEntropyReference(x!, y!),
      1,
      1e-5,
      1e-5,
    );
    expect(vocab).toBeGreaterThan(0);
  });

  // Summed reduction (the model's loss): values O(rows), so 1e-5 relative to the larger of 1 and the reference.
  it.each([
    [5, 9, [2, -100, 8, 0, 4]],
    [4, 129, [-100, -100, 128, 1]],
  ] as [number, number, number[]][])('crossEntropy sum over %i x %i', async (rows, V, labels) => {
    await compare(
      [uniform([rows, V], 12, 4), { shape: [rows], data: Int32Array.from(labels), dtype: 'int32' }],
      (x, y) => crossEntropy(x!, y!, -100, 'sum'),
      (x, y) => crossEntropyReference(x!, y!, -100, 'sum'),
      1,
      1e-5 * rows,
      1e-5,
    );
  });

  // The (B, T, heads, hd) layout: the same numbers as 'bhtd' on transposed inputs, against the references.
  it.each([
    [2, 4, 2, 19, 8],
    [1, 3, 3, 130, 6],
  ])('bthd layout: rope and causalAttention B %i nh %i nkv %i T %i hs %i', async (B, nh, nkv, T, hs) => {
    const cos = uniform([B, 1, T, hs], 21);
    const sin = uniform([B, 1, T, hs], 22);
    await compare(
      [uniform([B, T, nh, hs], 23), cos, sin],
      (x, c, s) => applyRope(x!, c!, s!, 'bthd'),
      (x, c, s) => ropeReference(x!, c!, s!, 'bthd'),
      1,
      1e-6,
      1e-6,
    );
    await compare(
      [uniform([B, T, nh, hs], 24, 2), uniform([B, T, nkv, hs], 25, 2), uniform([B, T, nkv, hs], 26)],
      (q, k, v) => causalAttention(q!, k!, v!, 0.3, 'bthd'),
      (q, k, v) => causalAttentionReference(q!, k!, v!, 0.3, 'bthd'),
      3,
      1e-5,
      1e-4,
    );
  });

  it('crossEntropy is 0 with zero gradient when every row is ignored', async () => {
    const inputs: Input[] = [
      uniform([3, 4], 10),
      { shape: [3], data: Int32Array.of(-100, -100, -100), dtype: 'int32' },
    ];
    const [loss, grad] = await runOn(NATIVE, inputs, (x, y) => [
      crossEntropy(x!, y!),
      tf.grad((z: tf.Tensor) => crossEntropy(z, y!))(x!),
    ]);
    expect(loss![0]).toBe(0);
    expect(grad!.every((v) => v === 0)).toBe(true);
  });

  it('crossEntropy rejects a label outside the vocabulary', async () => {
    await tf.setBackend(NATIVE);
    expect(() => tf.tidy(() => crossEntropy(tf.zeros([2, 3]), tf.tensor1d([0, 3], 'int32')))).toThrow(
      /label 3 at row 1/,
    );
  });

  // Key padding mask: per batch row, `real` real tokens after `left` padding tokens (the rest right padding). Query
  // rows before the first real token see no key: zeros and zero gradients on both paths. T 130 crosses a block.
  const keyMask = (B: number, T: number, rows: [number, number][]): Input => {
    const data = new Float32Array(B * T);
    rows.forEach(([left, real], b) => {
      data.fill(1, b * T + left, b * T + left + real);
    });
    return { shape: [B, T], data };
  };
  it.each([
    [
      'right padding',
      'bhtd',
      2,
      4,
      2,
      9,
      8,
      [
        [0, 9],
        [0, 4],
      ],
    ],
    [
      'left padding',
      'bthd',
      2,
      4,
      2,
      9,
      8,
      [
        [3, 6],
        [0, 9],
      ],
    ],
    [
      'left and right, one row all padding',
      'bthd',
      3,
      2,
      1,
      130,
      6,
      [
        [5, 100],
        [0, 0],
        [129, 1],
      ],
    ],
    ['right padding across blocks', 'bhtd', 1, 3, 3, 200, 4, [[0, 150]]],
  ] as [string, 'bhtd' | 'bthd', number, number, number, number, number, [number, number][]][])(
    'causalAttention with a key mask: %s (%s) B %i nh %i nkv %i T %i hs %i',
    async (_name, layout, B, nh, nkv, T, hs, rows) => {
      const shape = (n: number) => (layout === 'bthd' ? [B, T, n, hs] : [B, n, T, hs]);
      await compare(
        [uniform(shape(nh), 41, 2), uniform(shape(nkv), 42, 2), uniform(shape(nkv), 43), keyMask(B, T, rows)],
        (q, k, v, m) => causalAttention(q!, k!, v!, 0.4, layout, m!),
        (q, k, v, m) => causalAttentionReference(q!, k!, v!, 0.4, layout, m!),
        3,
        1e-5,
        1e-4,
      );
    },
  );

  it('causalAttention with an int32 key mask: padding query rows give zeros and zero gradients', async () => {
    const B = 1;
    const T = 5;
    const inputs: Input[] = [
      uniform([B, 2, T, 4], 51),
      uniform([B, 1, T, 4], 52),
      uniform([B, 1, T, 4], 53),
      { shape: [B, T], data: Int32Array.of(0, 0, 1, 1, 1), dtype: 'int32' },
    ];
    const [o, dq, dk, dv] = await runOn(NATIVE, inputs, (q, k, v, m) => [
      causalAttention(q!, k!, v!, undefined, 'bhtd', m!),
      ...tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        weightedSum(causalAttention(a, b, c, undefined, 'bhtd', m!), 7),
      )([q!, k!, v!]),
    ]);
    // (B, nh, T, hs): head h, query t at (h·T + t)·4; padding queries t = 0, 1
    for (const h of [0, 1]) {
      for (const t of [0, 1]) {
        expect(Array.from(o!.subarray((h * T + t) * 4, (h * T + t + 1) * 4))).toEqual([0, 0, 0, 0]);
        expect(Array.from(dq!.subarray((h * T + t) * 4, (h * T + t + 1) * 4))).toEqual([0, 0, 0, 0]);
      }
    }
    // padding keys 0, 1 receive no gradient
    expect(Array.from(dk!.subarray(0, 8))).toEqual(new Array(8).fill(0));
    expect(Array.from(dv!.subarray(0, 8))).toEqual(new Array(8).fill(0));
    expect(o!.some((x) => x !== 0)).toBe(true);
  });

  // Fused LoRA linear (W frozen): y O(√in), gradients of x, A, B against tfjs autodiff of the composite; odd
  // sizes, r = 1 to 65 and a zero-row batch. Tolerance 1e-5 · max(1, |y|) forward, 1e-4 relative for the gradients.
  // Both ways: merged (W + s·B A, the fp32 default) and unmerged (separate adapter products, bf16's way).
  it.each([
    [1, 1, 1, 1, true],
    [7, 13, 5, 3, true],
    [33, 64, 96, 16, true],
    [130, 48, 17, 8, true],
    [7, 13, 5, 3, false],
    [130, 48, 17, 8, false],
    // the fused adapter backward: padded widths 32, 48, 64, several row blocks and a short last block
    [300, 40, 70, 17, true],
    [257, 19, 11, 33, false],
    [129, 24, 9, 64, true],
    // r above the fused pass's limit: the adapter's products on the BLAS
    [9, 20, 30, 65, true],
    [9, 20, 30, 65, false],
  ])('loraLinear N %i in %i out %i r %i merge %s', async (n, inp, out, r, merge) => {
    await compare(
      [uniform([n, inp], 31), uniform([r, inp], 32), uniform([out, r], 33), uniform([out, inp], 34)],
      (x, a, b, w) =>
        loraLinear(x as tf.Tensor2D, w as tf.Tensor2D, a as tf.Tensor2D, b as tf.Tensor2D, 1.7, { merge }),
      (x, a, b, w) => loraLinearReference(x!, w!, a!, b!, 1.7),
      3,
      1e-5 * Math.max(1, Math.sqrt(inp)),
      1e-4,
    );
  });

  // The adapter's own input (PEFT's lora_dropout: xa = dropout(x)): gradients of x, xa, A and B against the
  // composite with xa in the adapter's product, through the fused pass (r ≤ 64) and the BLAS (r 65); xa is x with
  // some rows and columns zeroed and the rest scaled, as a dropout mask leaves it.
  it.each([
    [7, 13, 5, 3],
    [300, 40, 70, 17],
    [9, 20, 30, 65],
  ])('loraLinear with an adapter input xa: N %i in %i out %i r %i', async (n, inp, out, r) => {
    const x = uniform([n, inp], 41);
    const keep = uniform([n, inp], 42).data;
    const xa = (x.data as Float32Array).map((v, i) => (keep[i]! > -0.3 ? v / 0.65 : 0));
    await compare(
      [
        x,
        { shape: [n, inp], data: xa },
        uniform([r, inp], 43),
        uniform([out, r], 44),
        uniform([out, inp], 45),
      ],
      (xs, xd, a, b, w) =>
        loraLinear(xs as tf.Tensor2D, w as tf.Tensor2D, a as tf.Tensor2D, b as tf.Tensor2D, 1.3, {
          xAdapter: xd as tf.Tensor2D,
        }),
      (xs, xd, a, b, w) => loraLinearReference(xs!, w!, a!, b!, 1.3, xd!),
      4,
      1e-5 * Math.max(1, Math.sqrt(inp)),
      1e-4,
    );
  });

  it('loraLinear refuses an xAdapter of another shape, and merge with an xAdapter', () => {
    tf.tidy(() => {
      const [x, w, a, b] = [
        tf.zeros([2, 3]),
        tf.zeros([4, 3]),
        tf.zeros([2, 3]),
        tf.zeros([4, 2]),
      ] as tf.Tensor2D[];
      expect(() => loraLinear(x!, w!, a!, b!, 1, { xAdapter: tf.zeros([2, 4]) })).toThrow(
        /xAdapter must be \[2,3\] as x, found \[2,4\]/,
      );
      expect(() => loraLinear(x!, w!, a!, b!, 1, { xAdapter: x!, merge: true })).toThrow(
        /merge needs one input/,
      );
    });
  });

  it.each([true, false])(
    'loraLinear with no rows gives an empty result and empty gradients (merge %s)',
    async (merge) => {
      const [y, dx, da, db] = await runOn(
        NATIVE,
        [uniform([0, 6], 1), uniform([2, 6], 2), uniform([5, 2], 3), uniform([5, 6], 4)],
        (x, a, b, w) => {
          const f = (xi: tf.Tensor, ai: tf.Tensor, bi: tf.Tensor) =>
            tf.sum(
              loraLinear(xi as tf.Tensor2D, w as tf.Tensor2D, ai as tf.Tensor2D, bi as tf.Tensor2D, 2, {
                merge,
              }),
            );
          return [
            loraLinear(x as tf.Tensor2D, w as tf.Tensor2D, a as tf.Tensor2D, b as tf.Tensor2D, 2, { merge }),
            ...tf.grads(f)([x!, a!, b!]),
          ];
        },
      );
      expect(y!.length).toBe(0);
      expect(dx!.length).toBe(0);
      expect(Array.from(da!)).toEqual(new Array(12).fill(0));
      expect(Array.from(db!)).toEqual(new Array(10).fill(0));
    },
  );

  it('loraLinear rejects a lora B that does not fit W and A', async () => {
    await tf.setBackend(NATIVE);
    expect(() =>
      tf.tidy(() => loraLinear(tf.zeros([2, 3]), tf.zeros([4, 3]), tf.zeros([2, 3]), tf.zeros([4, 5]), 1)),
    ).toThrow(/lora B must be \(4, 2\), found \[4,5\]/);
  });
});
