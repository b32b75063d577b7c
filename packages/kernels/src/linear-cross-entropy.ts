// The lm_head and its loss in one op: cross-entropy of logits = h Wᵀ against labels with an ignore index, as
// PyTorch `F.cross_entropy(F.linear(h, W), labels, ignore_index=-100)`, computed in row chunks so the (rows, V)
// logits and their gradient never exist (with a 32K vocabulary they are 128 KiB per token, each). With
// `gradInForward` the backward pass is folded into the forward one (as Liger-Kernel's fused linear cross-entropy
// does): the loss is a scalar, so its gradient is a fixed multiple of what the forward pass can already compute
// from each chunk's logits, and the backward pass only scales it by the upstream gradient. Otherwise the backward
// pass recomputes each chunk's logits (one more h Wᵀ product), for a loss whose gradient may never be asked for.
import * as tf from '@tensorflow/tfjs-core';
import { type CrossEntropyReduction, crossEntropyReference, IGNORE_INDEX } from './cross-entropy.js';
import { ConfigError, ShapeError } from './errors.js';
import { customOp, hasNativeKernel, runKernel } from './fused-op.js';
import { f32, i32, type NativeBackend, output } from './native-backend.js';

export const LINEAR_CROSS_ENTROPY = 'LoralabLinearCrossEntropy';

/** The kernel's `grads` attribute: which gradients it computes along with the loss. */
const NONE = 0;
const H_ONLY = 1;
const BOTH = 2;

export interface LinearCrossEntropyOptions {
  /** Label value that contributes nothing (default -100). */
  ignoreIndex?: number;
  /** 'mean' over the rows not ignored (default; 0 when all are) or their 'sum'. */
  reduction?: CrossEntropyReduction;
  /** Whether W receives a gradient (default true); false for a frozen lm_head (then no dW is computed). */
  weightGrad?: boolean;
  /**
   * Compute the gradients during the forward pass (default false). Use it when the loss is differentiated right
   * away (a training step): it saves the backward pass's recomputation of the logits; but the gradients are
   * computed, and held until backprop, even if nothing asks for them.
   */
  gradInForward?: boolean;
  /** Rows per chunk (default: as many as fit 2²³ logits, at least 128). */
  chunkRows?: number;
}

/** [rows, d, V]; throws a ShapeError naming the operand that does not fit. */
function check(h: tf.TensorInfo, w: tf.TensorInfo, labels: tf.TensorInfo): [number, number, number] {
  const fail = (what: string, expected: string, found: tf.TensorInfo) => {
    throw new ShapeError(
      `linearCrossEntropy: ${what} must be ${expected}, found ${found.dtype} ${JSON.stringify(found.shape)}`,
      'linearCrossEntropy',
      expected,
      JSON.stringify(found.shape),
    );
  };
  if (h.shape.length !== 2) fail('h', '(rows, d)', h);
  const [rows, d] = h.shape as [number, number];
  if (w.shape.length !== 2 || w.shape[1] !== d) fail('weight', `(V, ${d})`, w);
  if (labels.dtype !== 'int32' || labels.shape.length !== 1 || labels.shape[0] !== rows)
    fail('labels', `int32 (${rows})`, labels);
  return [rows, d, w.shape[0]!];
}

/** Reference from tfjs ops: crossEntropy(h Wᵀ, labels), with the logits materialised. */
export function linearCrossEntropyReference(
  h: tf.Tensor,
  weight: tf.Tensor,
  labels: tf.Tensor,
  ignoreIndex = IGNORE_INDEX,
  reduction: CrossEntropyReduction = 'mean',
): tf.Tensor {
  check(h, weight, labels);
  return tf.tidy(() =>
    crossEntropyReference(
      tf.matMul(h as tf.Tensor2D, weight as tf.Tensor2D, false, true),
      labels,
      ignoreIndex,
      reduction,
    ),
  );
}

/**
 * Cross-entropy of h Wᵀ (h (rows, d), W (V, d)) against int32 labels (rows). Fused and chunked on the native
 * backend; elsewhere the reference (which materialises the logits). Gradients reach h, and W unless
 * `weightGrad` is false.
 */
export function linearCrossEntropy(
  h: tf.Tensor2D,
  weight: tf.Tensor2D,
  labels: tf.Tensor1D,
  options: LinearCrossEntropyOptions = {},
): tf.Scalar {
  const {
    ignoreIndex = IGNORE_INDEX,
    reduction = 'mean',
    weightGrad = true,
    gradInForward = false,
  } = options;
  if (reduction !== 'mean' && reduction !== 'sum') {
    throw new ConfigError(
      `linearCrossEntropy: reduction must be 'mean' or 'sum', found '${String(reduction)}'`,
      'reduction',
    );
  }
  const [, , V] = check(h, weight, labels);
  const chunkRows = options.chunkRows ?? Math.max(128, Math.floor(2 ** 23 / Math.max(V, 1)));
  if (!Number.isInteger(chunkRows) || chunkRows < 1) {
    throw new ConfigError(
      `linearCrossEntropy: chunkRows must be a positive integer, found ${chunkRows}`,
      'chunkRows',
    );
  }
  if (!hasNativeKernel(LINEAR_CROSS_ENTROPY)) {
    // tfjs autodiff computes W's gradient only when W itself is differentiated
    return linearCrossEntropyReference(h, weight, labels, ignoreIndex, reduction) as tf.Scalar;
  }
  const attrs = { ignoreIndex, sum: reduction === 'sum', chunkRows };
  // The kernel's gradients are of the reduced loss; the backward pass multiplies them by dy.
  const scaled = (g: tf.Tensor | undefined, dy: tf.Tensor) => tf.mul(g!, dy);
  const f = customOp<tf.Tensor[]>((inputs, save) => {
    const [hs, w = weight] = inputs as [tf.Tensor, tf.Tensor?];
    const grads = gradInForward ? (weightGrad ? BOTH : H_ONLY) : NONE;
    const [loss, ...pre] = runKernel(LINEAR_CROSS_ENTROPY, { h: hs, weight: w, labels }, { ...attrs, grads });
    save(gradInForward ? pre : [hs, w]);
    return {
      value: loss!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        if (gradInForward) return saved.map((g) => scaled(g, dy));
        const [sh, sw] = saved as [tf.Tensor, tf.Tensor];
        const [, ...g] = runKernel(
          LINEAR_CROSS_ENTROPY,
          { h: sh, weight: sw, labels },
          { ...attrs, grads: weightGrad ? BOTH : H_ONLY },
        );
        const out = g.map((x) => scaled(x, dy));
        tf.dispose(g);
        return out;
      },
    };
  });
  return (weightGrad ? f(h, weight) : f(h)) as tf.Scalar;
}

export const linearCrossEntropyKernels: tf.KernelConfig[] = [
  {
    kernelName: LINEAR_CROSS_ENTROPY,
    backendName: '',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const nb = backend as NativeBackend;
      const { h, weight, labels } = inputs as Record<'h' | 'weight' | 'labels', tf.TensorInfo>;
      const [rows, d, V] = check(h, weight, labels);
      const op = 'linearCrossEntropy';
      const grads = attrs!.grads as number;
      const labelData = i32(nb, labels, op);
      const ignore = attrs!.ignoreIndex as number;
      let count = 0;
      for (const l of labelData) if (l !== ignore) count++;
      // d(sum)/d(loss_i) = 1; d(mean)/d(loss_i) = 1 / count
      const sum = attrs!.sum === true;
      const scale = sum ? 1 : count > 0 ? 1 / count : 0;
      const loss = nb.alloc(rows);
      const dh = grads === NONE ? null : nb.alloc(rows * d);
      const dW = grads === BOTH ? nb.alloc(V * d) : null;
      nb.addon.linearCrossEntropy(
        f32(nb, h, op),
        f32(nb, weight, op),
        labelData,
        loss,
        dh,
        dW,
        rows,
        d,
        V,
        ignore,
        scale,
        attrs!.chunkRows as number,
      );
      let total = 0; // in double precision, fixed order
      for (let i = 0; i < rows; i++) total += loss[i]!;
      const out = [output(nb, [], Float32Array.of(sum ? total : total * scale))];
      if (dh) out.push(output(nb, [rows, d], dh));
      if (dW) out.push(output(nb, [V, d], dW));
      return out;
    },
  },
];
