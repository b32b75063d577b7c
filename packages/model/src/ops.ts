// Differentiable building blocks with hand-written gradients, chosen for the tfjs wasm backend:
// - wasm has no `UnsortedSegmentSum`, the gradient of `gather`, so `gatherRows` scatters with `scatterND`;
// - wasm's matmul is fast only for a plain 2-D product (about 20 GFLOP/s) and slow (about 1-2) with a transposed
//   operand or batch dims, which tfjs's own matmul gradient uses; these ops transpose explicitly instead.
import {
  hasFusedLoraLinear,
  dropout as kernelsDropout,
  loraLinear as kernelsLoraLinear,
  nativeBackendActive,
} from '@loralab/kernels';
import * as tf from '@tensorflow/tfjs-core';
import './gradients.js';
import { registerWasmKernels } from './wasm-kernels.js';

/**
 * Rows of `table` at `indices`: (V, ...rest) gathered by (N) int32 -> (N, ...rest).
 * Gradient w.r.t. the table is `scatterND(indices, dy, shape)`, which sums duplicate indices.
 * When `trainable` is false, no gradient flows to the table.
 */
export function gatherRows(table: tf.Tensor, indices: tf.Tensor1D, trainable = true): tf.Tensor {
  if (!trainable) return tf.gather(table, indices);
  // The indices travel through `save`: a closure would see them disposed by the caller's tidy before backprop.
  const f = tf.customGrad((t, idx, save) => {
    (save as tf.GradSaveFunc)([idx as tf.Tensor]);
    return {
      value: tf.gather(t as tf.Tensor, idx as tf.Tensor1D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.scatterND(tf.expandDims(saved[0]!, 1), dy, (t as tf.Tensor).shape),
        tf.zerosLike(saved[0]!),
      ],
    };
  });
  return f(table, indices);
}

/** Explicit transpose of the last two dims. */
function transposeLast2(x: tf.Tensor): tf.Tensor {
  const r = x.rank;
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return tf.transpose(x, perm);
}

/**
 * dW = dyᵀ x (out, in) for dy (N, out), x (N, in). XNNPack runs a long-K product about twice as fast when the
 * result has fewer columns (measured 29 vs 14 GFLOP/s for 384·8192·128 vs 128·8192·384), so when out < in it
 * computes dWᵀ = xᵀ dy (in, out) and transposes the small result.
 */
function weightGrad(dy: tf.Tensor2D, x: tf.Tensor2D): tf.Tensor2D {
  const out = dy.shape[1];
  const inp = x.shape[1];
  if (out < inp) return tf.transpose(tf.matMul(tf.transpose(x), dy)) as tf.Tensor2D;
  return tf.matMul(tf.transpose(dy), x);
}

/**
 * y = x W^T (+ b) for x (N, in), W (out, in) (the Hugging Face layout), b (out). Gradients:
 * dx = dy W, dW = dy^T x, db = Σ_rows dy, each a plain matmul after an explicit transpose.
 * Weights with `trainable` false get no gradient (and none is computed).
 */
export function linear(
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  bias?: tf.Tensor1D | null,
  trainable = true,
): tf.Tensor2D {
  if (nativeBackendActive()) return nativeLinear(x, weight, bias ?? null, trainable);
  if (!trainable) {
    // Only dx is needed: close over W and b so the tape never asks for their gradients.
    const f = tf.customGrad((xi) => {
      const y = tf.matMul(xi as tf.Tensor2D, tf.transpose(weight)); // (N, out)
      return {
        value: bias ? tf.add(y, bias) : y,
        gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, weight), // (N, in)
      };
    });
    return f(x) as tf.Tensor2D;
  }
  if (bias) {
    const f = tf.customGrad((xi, w, b, save) => {
      (save as tf.GradSaveFunc)([xi as tf.Tensor, w as tf.Tensor]);
      const value = tf.add(tf.matMul(xi as tf.Tensor2D, tf.transpose(w as tf.Tensor2D)), b as tf.Tensor);
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
          return [
            tf.matMul(dy as tf.Tensor2D, ws), // dx (N, in)
            weightGrad(dy as tf.Tensor2D, xs), // dW (out, in)
            tf.sum(dy, 0), // db (out)
          ];
        },
      };
    });
    return f(x, weight, bias) as tf.Tensor2D;
  }
  const f = tf.customGrad((xi, w, save) => {
    (save as tf.GradSaveFunc)([xi as tf.Tensor, w as tf.Tensor]);
    const value = tf.matMul(xi as tf.Tensor2D, tf.transpose(w as tf.Tensor2D));
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [tf.matMul(dy as tf.Tensor2D, ws), weightGrad(dy as tf.Tensor2D, xs)];
      },
    };
  });
  return f(x, weight) as tf.Tensor2D;
}

/**
 * `linear` on the native backend: sgemm takes either operand transposed at full speed, so no explicit transpose is
 * formed. y = x Wᵀ (+ b); dx = dy W; dW = dyᵀ x; db = Σ_rows dy.
 */
function nativeLinear(
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  bias: tf.Tensor1D | null,
  trainable: boolean,
): tf.Tensor2D {
  const forward = (xi: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D | null) => {
    const y = tf.matMul(xi, w, false, true); // (N, out)
    if (b === null) return y;
    const yb = tf.add(y, b);
    y.dispose();
    return yb;
  };
  if (!trainable) {
    const f = tf.customGrad((xi) => ({
      value: forward(xi as tf.Tensor2D, weight, bias),
      gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, weight), // (N, in)
    }));
    return f(x) as tf.Tensor2D;
  }
  const grads = (dy: tf.Tensor2D, xs: tf.Tensor2D, ws: tf.Tensor2D) => [
    tf.matMul(dy, ws), // dx (N, in)
    tf.matMul(dy, xs, true, false), // dW (out, in)
  ];
  if (bias) {
    const f = tf.customGrad((xi, w, b, save) => {
      (save as tf.GradSaveFunc)([xi as tf.Tensor, w as tf.Tensor]);
      return {
        value: forward(xi as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
          ...grads(dy as tf.Tensor2D, saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D),
          tf.sum(dy, 0), // db (out)
        ],
      };
    });
    return f(x, weight, bias) as tf.Tensor2D;
  }
  const f = tf.customGrad((xi, w, save) => {
    (save as tf.GradSaveFunc)([xi as tf.Tensor, w as tf.Tensor]);
    return {
      value: forward(xi as tf.Tensor2D, w as tf.Tensor2D, null),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        grads(dy as tf.Tensor2D, saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D),
    };
  });
  return f(x, weight) as tf.Tensor2D;
}

/**
 * Inverted dropout with a seeded mask: on the native backend one kernel whose mask is a hash of (seed, element index),
 * forward and gradient; elsewhere `tf.dropout` with the seed (which draws another mask). Rate 0 returns x.
 */
export function dropout<T extends tf.Tensor>(x: T, rate: number, seed: number): T {
  return rate === 0 ? x : (kernelsDropout(x, rate, seed) as T);
}

/** Whether `loraLinear` runs the fused native kernel (the native backend is active and has it). */
export function fusedLoraLinearAvailable(): boolean {
  return nativeBackendActive() && hasFusedLoraLinear();
}

/**
 * A LoRA linear with a frozen base (Hu et al. 2021): y = x Wᵀ + s · (xa Aᵀ) Bᵀ for x (N, in), W (out, in), A (r, in),
 * B (out, r), where the adapter's input xa is `xAdapter` (e.g. dropout(x), PEFT's lora_dropout) or x. Gradients reach
 * x, xa, A and B, never W. On the native backend one fused op with no full-size temporary (`@loralab/kernels`
 * loraLinear); elsewhere the tfjs composite.
 */
export function loraLinear(
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  loraA: tf.Tensor2D,
  loraB: tf.Tensor2D,
  scaling: number,
  { xAdapter }: { xAdapter?: tf.Tensor2D } = {},
): tf.Tensor2D {
  return kernelsLoraLinear(x, weight, loraA, loraB, scaling, xAdapter === undefined ? {} : { xAdapter });
}

/**
 * Multiply-accumulates per group from which wasm runs G separate 2-D products. tfjs-wasm sends only an
 * untransposed product with batch 1 to XNNPack (15-25 GFLOP/s on one core); any batch runs a naive blocked loop
 * (1-2 GFLOP/s). Each group is cut out with a contiguous `slice` (cheap with the kernel of wasm-kernels.ts).
 * Measured in one process with both paths interleaved (forward + backward of one product), the loop won 2.8x for
 * 64 groups of 256·32·256, 8.9x for 64 of 512·64·512 and 2.7x for 256 of 128·32·128; below 2^16 per group the
 * per-op overhead dominates, so tiny products stay batched.
 */
let wasmLoopMinMacs = 1 << 16;

/** Sets the per-group size (M·K·N) from which `bmm` loops on wasm; Infinity always uses the batched kernel. */
export function setWasmBmmLoopThreshold(macs: number): void {
  wasmLoopMinMacs = macs;
}

/** Plain batched product a (G, M, K) · b (G, K, N) -> (G, M, N). */
function bmmForward(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [G, M, K] = a.shape;
  const N = b.shape[2];
  if (G === 1 || tf.getBackend() !== 'wasm' || M * K * N < wasmLoopMinMacs) return tf.matMul(a, b);
  registerWasmKernels(); // the loop needs the contiguous Slice, also when wasm was started without initBackend
  return tf.tidy(() => {
    const ys: tf.Tensor3D[] = [];
    for (let g = 0; g < G; g++) {
      // (1, M, K) · (1, K, N): batch 1, untransposed, so XNNPack runs it. Contiguous slices: see wasm-kernels.ts.
      ys.push(tf.matMul(tf.slice(a, [g, 0, 0], [1, M, K]), tf.slice(b, [g, 0, 0], [1, K, N])));
    }
    return tf.concat(ys, 0);
  });
}

/**
 * Batched matmul a (G, M, K) · b (G, K, N) -> (G, M, N) with gradients da = dy b^T and db = a^T dy,
 * computed with explicit transposes and the same plain product.
 */
export function bmm(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const f = tf.customGrad((ai, bi, save) => {
    (save as tf.GradSaveFunc)([ai as tf.Tensor, bi as tf.Tensor]);
    return {
      value: bmmForward(ai as tf.Tensor3D, bi as tf.Tensor3D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [as, bs] = saved as [tf.Tensor3D, tf.Tensor3D];
        return [
          bmmForward(dy as tf.Tensor3D, transposeLast2(bs) as tf.Tensor3D), // (G, M, K)
          bmmForward(transposeLast2(as) as tf.Tensor3D, dy as tf.Tensor3D), // (G, K, N)
        ];
      },
    };
  });
  return f(a, b) as tf.Tensor3D;
}

/**
 * softmax(scores + mask) over the last axis, with a gradient that keeps only the probabilities y:
 * d scores = y ⊙ (dy − Σ_j dy ⊙ y). tfjs's own Add and Softmax gradients would keep the scores and the masked
 * scores as well, three (B, nh, T, Tk) tensors per layer instead of one.
 */
export function maskedSoftmax(scores: tf.Tensor4D, mask: tf.Tensor4D): tf.Tensor4D {
  const f = tf.customGrad((x, save) => {
    const y = tf.tidy(() => tf.softmax(tf.add(x as tf.Tensor, mask), -1));
    (save as tf.GradSaveFunc)([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const ys = saved[0]!;
        const dyy = tf.mul(dy, ys);
        return tf.sub(dyy, tf.mul(tf.sum(dyy, -1, true), ys));
      },
    };
  });
  return f(scores) as tf.Tensor4D;
}

/** SiLU (swish): x · σ(x). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

export { transposeLast2 };
