// Mean softmax cross-entropy over the vocabulary with an ignore index, as PyTorch
// `F.cross_entropy(logits, labels, ignore_index=-100)` (rows whose label is the ignore index count for nothing).
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from './errors.js';
import { customOp, hasNativeKernel, runKernel, sizeOf } from './fused-op.js';
import { f32, i32, type NativeBackend, output } from './native-backend.js';

export const CROSS_ENTROPY = 'LoralabCrossEntropy';
export const CROSS_ENTROPY_GRAD = 'LoralabCrossEntropyGrad';
export const IGNORE_INDEX = -100;

function check(logits: tf.TensorInfo, labels: tf.TensorInfo): { rows: number; V: number } {
  const V = logits.shape[logits.shape.length - 1] ?? 0;
  if (!tf.util.arraysEqual(logits.shape.slice(0, -1), labels.shape) || labels.dtype !== 'int32') {
    throw new ShapeError(
      `crossEntropy: labels must be int32 of shape ${JSON.stringify(logits.shape.slice(0, -1))} for logits ` +
        `${JSON.stringify(logits.shape)}; found ${labels.dtype} ${JSON.stringify(labels.shape)}`,
      'crossEntropy',
      JSON.stringify(logits.shape.slice(0, -1)),
      JSON.stringify(labels.shape),
    );
  }
  return { rows: sizeOf(labels.shape), V };
}

/**
 * Reference from tfjs ops: −mean over kept rows of log_softmax(logits)[label]; 0 when every row is ignored
 * (PyTorch gives NaN there). The one-hot is built as int32 and cast (float32 oneHot is unreliable on wasm).
 */
export function crossEntropyReference(
  logits: tf.Tensor,
  labels: tf.Tensor,
  ignoreIndex = IGNORE_INDEX,
  reduction: CrossEntropyReduction = 'mean',
): tf.Tensor {
  return tf.tidy(() => {
    const { V } = check(logits, labels);
    const keep = tf.notEqual(labels, ignoreIndex);
    const safe = tf.where(keep, labels, tf.zerosLike(labels)); // any valid index for ignored rows
    const onehot = tf.cast(tf.oneHot(safe, V), 'float32');
    const picked = tf.sum(tf.mul(tf.logSoftmax(logits), onehot), -1); // log p(label) per row
    const w = tf.cast(keep, 'float32');
    const sum = tf.neg(tf.sum(tf.mul(picked, w)));
    return reduction === 'sum' ? sum : tf.div(sum, tf.maximum(tf.sum(w), 1));
  });
}

/**
 * How the per-row losses are combined: 'mean' over the rows not ignored (PyTorch's default), or their 'sum'
 * (for accumulation over micro-batches normalised by the total token count).
 */
export type CrossEntropyReduction = 'mean' | 'sum';

/**
 * Cross-entropy of logits (..., V) against int32 labels (...), skipping rows labelled `ignoreIndex`; the mean over
 * the kept rows (default) or their sum.
 */
export function crossEntropy(
  logits: tf.Tensor,
  labels: tf.Tensor,
  ignoreIndex = IGNORE_INDEX,
  reduction: CrossEntropyReduction = 'mean',
): tf.Tensor {
  if (reduction !== 'mean' && reduction !== 'sum') {
    throw new ConfigError(
      `crossEntropy: reduction must be 'mean' or 'sum', found '${String(reduction)}'`,
      'reduction',
    );
  }
  if (!hasNativeKernel(CROSS_ENTROPY)) return crossEntropyReference(logits, labels, ignoreIndex, reduction);
  check(logits, labels);
  const sum = reduction === 'sum';
  const f = customOp<[tf.Tensor, tf.Tensor]>(([x, y], save) => {
    const [loss, lse, count] = runKernel(
      CROSS_ENTROPY,
      { logits: x, labels: y },
      { ignoreIndex, sum },
    ) as tf.Tensor[];
    save([x, y, lse!, count!]);
    return {
      value: loss!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sy, slse, scount] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const [dlogits] = runKernel(
          CROSS_ENTROPY_GRAD,
          { dy, logits: sx, labels: sy, lse: slse, count: scount },
          { ignoreIndex, sum },
        );
        return [dlogits!, tf.zeros(sy.shape)];
      },
    };
  });
  return f(logits, labels);
}

export const crossEntropyKernels: tf.KernelConfig[] = [
  {
    kernelName: CROSS_ENTROPY,
    backendName: '',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const nb = backend as NativeBackend;
      const { logits, labels } = inputs as Record<'logits' | 'labels', tf.TensorInfo>;
      const { rows, V } = check(logits, labels);
      const loss = nb.alloc(rows);
      const lse = nb.alloc(rows);
      const op = 'crossEntropy';
      const count = nb.addon.crossEntropyForward(
        f32(nb, logits, op),
        i32(nb, labels, op),
        loss,
        lse,
        rows,
        V,
        attrs!.ignoreIndex as number,
      );
      let sum = 0; // in double precision, fixed order
      for (let i = 0; i < rows; i++) sum += loss[i]!;
      const value = attrs!.sum === true ? sum : count > 0 ? sum / count : 0;
      return [
        output(nb, [], Float32Array.of(value)),
        output(nb, labels.shape, lse),
        output(nb, [], Float32Array.of(count)),
      ];
    },
  },
  {
    kernelName: CROSS_ENTROPY_GRAD,
    backendName: '',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const nb = backend as NativeBackend;
      const { dy, logits, labels, lse, count } = inputs as Record<
        'dy' | 'logits' | 'labels' | 'lse' | 'count',
        tf.TensorInfo
      >;
      const { rows, V } = check(logits, labels);
      const op = 'crossEntropy';
      const n = f32(nb, count, op)[0]!;
      const g = f32(nb, dy, op)[0]!;
      // d(sum)/d(loss_i) = dy; d(mean)/d(loss_i) = dy / count for kept rows (the kernel zeroes ignored ones)
      const scale = new Float32Array(rows).fill(attrs!.sum === true ? g : n > 0 ? g / n : 0);
      const dlogits = nb.alloc(rows * V);
      nb.addon.crossEntropyBackward(
        f32(nb, logits, op),
        i32(nb, labels, op),
        f32(nb, lse, op),
        scale,
        dlogits,
        rows,
        V,
        attrs!.ignoreIndex as number,
      );
      return output(nb, logits.shape, dlogits);
    },
  },
];
