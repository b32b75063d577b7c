// Fused LoRA linear (Hu et al. 2021, arXiv 2106.09685) with a frozen base: y = x Wᵀ + s · (x Aᵀ) Bᵀ for
// x (N, in), W (out, in), A (r, in), B (out, r). No full-size temporary beyond y. Two ways, by matmul precision:
// - fp32 (merged): W' = W + s · B A (out, in), a product of r-wide operands that costs out·in·r, then y = x W'ᵀ:
//   one full product instead of x Wᵀ plus the two r-wide products (N, in)·(in, r) and (N, r)·(r, out), which run
//   far below the BLAS's peak (a 16-wide operand is nearly all packing). The r-wide t = x Aᵀ that dB needs is
//   computed in the backward pass only, so the forward pass that block checkpointing discards never pays for it.
//   Backward: dx = dy W' (W' merged again);  u = dy B;  dA = s · uᵀ x;  t = x Aᵀ;  dB = s · dyᵀ t.
//   Rounding: y differs from the unmerged sum by fp32 rounding of W' (relative 2⁻²⁴ of |W| per element), the same
//   order as the sum's own rounding.
// - bf16 (unmerged): y = x Wᵀ;  t = x Aᵀ (N, r);  y += s · t Bᵀ (beta = 1). Merging would round W' to bf16 (8 bits),
//   which loses a small adapter update against W, so the adapter's products stay separate as under PyTorch autocast.
//   Backward: u = dy B (N, r);  dx = dy W, then dx += s · u A;  dA = s · uᵀ x;  dB = s · dyᵀ t.
// Both ways, for r ≤ 64 the backward pass's r-wide products (t unless kept, u, dA, dB) run in one pass over row blocks
// of x and dy (native/lora.cc, fp32 in either precision) instead of four BLAS calls that stream x and dy twice each.
// The unfused composite adds a full-size (N, out) sum in the forward pass and a full-size (N, in) gradient sum
// for x (used by both the base and the adapter) in the backward pass, plus the tape's bookkeeping of six ops.
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from './errors.js';
import { customOp, hasNativeKernel, runKernel } from './fused-op.js';
import { f32, type NativeBackend, output } from './native-backend.js';
import { getMatmulPrecision } from './precision.js';

export const LORA_LINEAR = 'LoralabLoraLinear';
export const LORA_LINEAR_GRAD = 'LoralabLoraLinearGrad';

/**
 * Reference: x Wᵀ + s · (xa Aᵀ) Bᵀ from tfjs ops, xa = `xAdapter` or x (autodiff by tfjs; W gets a gradient there
 * too).
 */
export function loraLinearReference(
  x: tf.Tensor,
  weight: tf.Tensor,
  loraA: tf.Tensor,
  loraB: tf.Tensor,
  scaling: number,
  xAdapter: tf.Tensor = x,
): tf.Tensor {
  return tf.tidy(() =>
    tf.add(
      tf.matMul(x as tf.Tensor2D, weight as tf.Tensor2D, false, true),
      tf.mul(
        tf.matMul(
          tf.matMul(xAdapter as tf.Tensor2D, loraA as tf.Tensor2D, false, true),
          loraB as tf.Tensor2D,
          false,
          true,
        ),
        scaling,
      ),
    ),
  );
}

/** [N, in, out, r]; throws a ShapeError naming the operand that does not fit. */
function check(
  x: tf.TensorInfo,
  w: tf.TensorInfo,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
): [number, number, number, number] {
  const fail = (what: string, expected: string, found: readonly number[]) => {
    throw new ShapeError(
      `loraLinear: ${what} must be ${expected}, found ${JSON.stringify(found)}`,
      'loraLinear',
      expected,
      JSON.stringify(found),
    );
  };
  if (x.shape.length !== 2) fail('x', '(N, in)', x.shape);
  const [n, inp] = x.shape as [number, number];
  if (w.shape.length !== 2 || w.shape[1] !== inp) fail('weight', `(out, ${inp})`, w.shape);
  const out = w.shape[0]!;
  if (a.shape.length !== 2 || a.shape[1] !== inp) fail('lora A', `(r, ${inp})`, a.shape);
  const r = a.shape[0]!;
  if (b.shape.length !== 2 || b.shape[0] !== out || b.shape[1] !== r)
    fail('lora B', `(${out}, ${r})`, b.shape);
  return [n, inp, out, r];
}

/** Whether `loraLinear` runs the fused native kernels on the active backend. */
export function hasFusedLoraLinear(): boolean {
  return hasNativeKernel(LORA_LINEAR);
}

/**
 * y = x Wᵀ + s · (xa Aᵀ) Bᵀ with W frozen: gradients reach x, A and B (and xa) only (W's gradient is zero, never
 * computed). x (N, in), W (out, in), A (r, in), B (out, r) -> (N, out). Fused on the native backend; elsewhere the
 * reference.
 * - `xAdapter`: the adapter's own input xa (N, in), e.g. dropout(x) as PEFT's `lora_dropout`; default x. With it the
 *   products stay unmerged (the base and the adapter see different inputs) and xa gets its own gradient s · (dy B) A.
 * - `merge` (native only; default: when the matmul precision is fp32 and there is no `xAdapter`) runs the products on
 *   W + s · B A (see the top of this file).
 */
export function loraLinear(
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  loraA: tf.Tensor2D,
  loraB: tf.Tensor2D,
  scaling: number,
  {
    xAdapter,
    merge = getMatmulPrecision() === 'fp32' && xAdapter === undefined,
  }: { xAdapter?: tf.Tensor2D; merge?: boolean } = {},
): tf.Tensor2D {
  check(x, weight, loraA, loraB);
  if (xAdapter !== undefined) {
    if (xAdapter.shape.length !== 2 || xAdapter.shape[0] !== x.shape[0] || xAdapter.shape[1] !== x.shape[1]) {
      const expected = JSON.stringify(x.shape);
      const found = JSON.stringify(xAdapter.shape);
      throw new ShapeError(
        `loraLinear: xAdapter must be ${expected} as x, found ${found}`,
        'loraLinear',
        expected,
        found,
      );
    }
    if (merge) {
      throw new ConfigError(
        'loraLinear: merge needs one input for the base and the adapter; xAdapter is given',
        'merge',
      );
    }
  }
  // Elsewhere tfjs autodiff prunes W's gradient unless W itself is differentiated.
  if (!hasFusedLoraLinear()) {
    return loraLinearReference(x, weight, loraA, loraB, scaling, xAdapter) as tf.Tensor2D;
  }
  const attrs = { scaling, merged: merge };
  const forward = (
    xs: tf.Tensor,
    xa: tf.Tensor | undefined,
    a: tf.Tensor,
    b: tf.Tensor,
    save: tf.GradSaveFunc,
  ) => {
    const kernelInputs: Record<string, tf.Tensor> = { x: xs, weight, loraA: a, loraB: b };
    if (xa !== undefined) kernelInputs.xAdapter = xa;
    // [y] merged; [y, t] unmerged
    const [y, t] = runKernel(LORA_LINEAR, kernelInputs, attrs) as [tf.Tensor, tf.Tensor?];
    save([xs, a, b, ...(t === undefined ? [] : [t]), ...(xa === undefined ? [] : [xa])]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sa, sb, st, sxa] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor?, tf.Tensor?];
        const inputs: Record<string, tf.Tensor> = { dy, x: sx, weight, loraA: sa, loraB: sb };
        if (st !== undefined) inputs.t = st;
        if (sxa !== undefined) inputs.xAdapter = sxa;
        return runKernel(LORA_LINEAR_GRAD, inputs, attrs); // [dx, dA, dB] or [dx, dxa, dA, dB]
      },
    };
  };
  if (xAdapter === undefined) {
    const f = customOp<[tf.Tensor, tf.Tensor, tf.Tensor]>(([xs, a, b], save) =>
      forward(xs, undefined, a, b, save),
    );
    return f(x, loraA, loraB) as tf.Tensor2D;
  }
  const f = customOp<[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]>(([xs, xa, a, b], save) =>
    forward(xs, xa, a, b, save),
  );
  return f(x, xAdapter, loraA, loraB) as tf.Tensor2D;
}

const NO_BATCH = new Int32Array(1);
/** The largest rank the fused adapter backward (native/lora.cc) takes; above it the r-wide products use the BLAS. */
const LORA_FUSED_MAX_RANK = 64;

/** c = alpha · op(a) op(b) + beta · c for plain 2-D row-major operands; op(a) (m, k), op(b) (k, n). */
function gemm(
  nb: NativeBackend,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  alpha: number,
  beta: number,
): void {
  if (m === 0 || n === 0) return;
  if (k === 0) {
    // sgemm with k = 0 is a no-op in some BLAS builds: apply beta (0 or 1 here) by hand.
    if (beta === 0) c.fill(0);
    return;
  }
  nb.addon.sgemm(a, b, c, 1, NO_BATCH, NO_BATCH, m, n, k, transA, transB, alpha, beta);
}

/** Scratch for W' = W + s · B A: kernels run one at a time on the JavaScript thread, so one buffer serves them all. */
let mergedScratch = new Float32Array(0);

/** W' = W + s · B A (out, in) in the shared scratch (valid until the next call). */
function mergedWeight(
  nb: NativeBackend,
  w: Float32Array,
  a: Float32Array,
  b: Float32Array,
  s: number,
  out: number,
  inp: number,
  r: number,
): Float32Array {
  if (mergedScratch.length < out * inp) mergedScratch = new Float32Array(out * inp);
  const merged = mergedScratch.subarray(0, out * inp);
  merged.set(w);
  gemm(nb, b, a, merged, out, inp, r, false, false, s, 1); // W' += s · B A
  return merged;
}

export const loraLinearKernels: tf.KernelConfig[] = [
  {
    kernelName: LORA_LINEAR,
    backendName: '',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const nb = backend as NativeBackend;
      const { x, weight, loraA, loraB } = inputs as Record<'x' | 'weight' | 'loraA' | 'loraB', tf.TensorInfo>;
      const [n, inp, out, r] = check(x, weight, loraA, loraB);
      const s = attrs!.scaling as number;
      const xs = f32(nb, x, 'loraLinear');
      const y = nb.alloc(n * out);
      if (attrs!.merged === true) {
        const merged = mergedWeight(
          nb,
          f32(nb, weight, 'loraLinear'),
          f32(nb, loraA, 'loraLinear'),
          f32(nb, loraB, 'loraLinear'),
          s,
          out,
          inp,
          r,
        );
        gemm(nb, xs, merged, y, n, out, inp, false, true, 1, 0); // y = x W'ᵀ
        return [output(nb, [n, out], y)];
      }
      const t = nb.alloc(n * r);
      const xa = inputs.xAdapter === undefined ? xs : f32(nb, inputs.xAdapter, 'loraLinear');
      gemm(nb, xs, f32(nb, weight, 'loraLinear'), y, n, out, inp, false, true, 1, 0); // y = x Wᵀ
      gemm(nb, xa, f32(nb, loraA, 'loraLinear'), t, n, r, inp, false, true, 1, 0); // t = xa Aᵀ
      gemm(nb, t, f32(nb, loraB, 'loraLinear'), y, n, out, r, false, true, s, 1); // y += s · t Bᵀ
      return [output(nb, [n, out], y), output(nb, [n, r], t)];
    },
  },
  {
    kernelName: LORA_LINEAR_GRAD,
    backendName: '',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const nb = backend as NativeBackend;
      const { dy, x, weight, loraA, loraB, t, xAdapter } = inputs as Record<
        'dy' | 'x' | 'weight' | 'loraA' | 'loraB',
        tf.TensorInfo
      > & { t?: tf.TensorInfo; xAdapter?: tf.TensorInfo };
      const [n, inp, out, r] = check(x, weight, loraA, loraB);
      const s = attrs!.scaling as number;
      const g = f32(nb, dy, 'loraLinear');
      const xs = f32(nb, x, 'loraLinear');
      const xa = xAdapter === undefined ? xs : f32(nb, xAdapter, 'loraLinear'); // the adapter's input
      const w = f32(nb, weight, 'loraLinear');
      const av = f32(nb, loraA, 'loraLinear');
      const bv = f32(nb, loraB, 'loraLinear');
      const merged = attrs!.merged === true;
      const dx = nb.alloc(n * inp);
      const da = nb.alloc(r * inp);
      const db = nb.alloc(out * r);
      const u = merged ? null : nb.alloc(n * r); // dy B, for dx's adapter term
      const tv = t === undefined ? null : f32(nb, t, 'loraLinear'); // the merged forward pass keeps no t
      if (merged) {
        gemm(nb, g, mergedWeight(nb, w, av, bv, s, out, inp, r), dx, n, inp, out, false, false, 1, 0); // dx = dy W'
      } else {
        gemm(nb, g, w, dx, n, inp, out, false, false, 1, 0); // dx = dy W
      }
      if (r <= LORA_FUSED_MAX_RANK && nb.addon.loraAdapterGrad !== undefined) {
        // t (unless kept), u, dA = s · uᵀ xa and dB = s · dyᵀ t in one pass over xa and dy (native/lora.cc)
        nb.addon.loraAdapterGrad(xa, g, av, bv, tv, u, da, db, n, inp, out, r, s);
      } else {
        const uv = u ?? nb.alloc(n * r);
        gemm(nb, g, bv, uv, n, r, out, false, false, 1, 0); // u = dy B (N, r)
        gemm(nb, uv, xa, da, r, inp, n, true, false, s, 0); // dA = s · uᵀ xa (r, in)
        const tx = tv ?? nb.alloc(n * r);
        if (tv === null) gemm(nb, xa, av, tx, n, r, inp, false, true, 1, 0); // t = xa Aᵀ (N, r)
        gemm(nb, g, tx, db, out, r, n, true, false, s, 0); // dB = s · dyᵀ t (out, r)
        if (tv === null) nb.recycle(tx);
        if (u === null) nb.recycle(uv);
      }
      const grads = [output(nb, [n, inp], dx), output(nb, [r, inp], da), output(nb, [out, r], db)];
      if (u === null) return grads;
      if (xAdapter === undefined) {
        gemm(nb, u, av, dx, n, inp, r, false, false, s, 1); // dx += s · u A
        nb.recycle(u);
        return grads;
      }
      const dxa = nb.alloc(n * inp);
      gemm(nb, u, av, dxa, n, inp, r, false, false, s, 0); // dxa = s · u A
      nb.recycle(u);
      return [grads[0]!, output(nb, [n, inp], dxa), grads[1]!, grads[2]!];
    },
  },
];
