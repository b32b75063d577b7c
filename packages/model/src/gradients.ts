// Gradients of the kernels the decoder differentiates through. `@tensorflow/tfjs-core`'s Node (CommonJS) entry
// registers no gradients (only the `@tensorflow/tfjs` umbrella does), so this module registers the ones the model
// needs, each only if no gradient is registered yet (the registry is global, so the umbrella's win when loaded).
// Formulas follow tfjs-core/src/gradients (Apache-2.0).
import * as tf from '@tensorflow/tfjs-core';

type Saved = tf.Tensor[];
type Attrs = Record<string, unknown>;
type GradFunc = (dy: tf.Tensor | tf.Tensor[], saved: Saved, attrs: Attrs) => Record<string, () => tf.Tensor>;

/** Sums dy over the axes along which `shape` was broadcast to dy's shape, and reshapes to `shape`. */
function unbroadcast(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, dy.shape);
  return tf.reshape(axes.length > 0 ? tf.sum(dy, axes) : dy, shape);
}

function axesOf(axis: unknown, rank: number): number[] {
  const list =
    axis === null || axis === undefined ? [...Array(rank).keys()] : Array.isArray(axis) ? axis : [axis];
  return (list as number[]).map((a) => (a < 0 ? a + rank : a));
}

const configs: {
  kernelName: string;
  inputsToSave?: string[];
  outputsToSave?: boolean[];
  saveAllInputs?: boolean;
  gradFunc: GradFunc;
}[] = [
  {
    kernelName: 'Add',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(dy as tf.Tensor, a!.shape),
      b: () => unbroadcast(dy as tf.Tensor, b!.shape),
    }),
  },
  {
    kernelName: 'AddN',
    saveAllInputs: true,
    gradFunc: (dy, saved) =>
      Object.fromEntries(saved.map((_, i) => [String(i), () => (dy as tf.Tensor).clone()])),
  },
  {
    kernelName: 'Sub',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(dy as tf.Tensor, a!.shape),
      b: () => tf.neg(unbroadcast(dy as tf.Tensor, b!.shape)),
    }),
  },
  {
    kernelName: 'Multiply',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(b!, 'float32')), a!.shape),
      b: () => unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(a!, 'float32')), b!.shape),
    }),
  },
  {
    kernelName: 'RealDiv',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.div(dy as tf.Tensor, b!), a!.shape),
      b: () => unbroadcast(tf.neg(tf.div(tf.mul(dy as tf.Tensor, a!), tf.square(b!))), b!.shape),
    }),
  },
  { kernelName: 'Neg', gradFunc: (dy) => ({ x: () => tf.neg(dy as tf.Tensor) }) },
  { kernelName: 'Identity', gradFunc: (dy) => ({ x: () => (dy as tf.Tensor).clone() }) },
  { kernelName: 'Cast', gradFunc: (dy) => ({ x: () => (dy as tf.Tensor).clone() }) },
  {
    kernelName: 'Exp',
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(dy as tf.Tensor, y!) }),
  },
  {
    kernelName: 'Log',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.div(dy as tf.Tensor, x!) }),
  },
  {
    kernelName: 'Sqrt',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.div(dy as tf.Tensor, tf.mul(tf.sqrt(x!), 2)) }),
  },
  {
    // d/dx x^(-1/2) = -1/2 x^(-3/2)
    kernelName: 'Rsqrt',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.div(dy as tf.Tensor, tf.mul(tf.pow(x!, 1.5), -2)) }),
  },
  {
    kernelName: 'Square',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul(x!, 2)) }),
  },
  {
    kernelName: 'Sigmoid',
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul(y!, tf.sub(1, y!))) }),
  },
  {
    kernelName: 'Tanh',
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.sub(1, tf.square(y!))) }),
  },
  {
    // dx = y ⊙ (dy − Σ dy ⊙ y)
    kernelName: 'Softmax',
    outputsToSave: [true],
    gradFunc: (dy, [y], attrs) => {
      const dyy = tf.mul(dy as tf.Tensor, y!);
      return { logits: () => tf.sub(dyy, tf.mul(tf.sum(dyy, [attrs.dim as number], true), y!)) };
    },
  },
  {
    kernelName: 'Sum',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const shape = x!.shape.slice();
      for (const a of axesOf(attrs.axis, x!.rank)) shape[a] = 1;
      return { x: () => tf.mul(tf.reshape(dy as tf.Tensor, shape), tf.ones(x!.shape)) };
    },
  },
  {
    kernelName: 'Mean',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axes = axesOf(attrs.axis, x!.rank);
      const shape = x!.shape.slice();
      let count = 1;
      for (const a of axes) {
        count *= shape[a]!;
        shape[a] = 1;
      }
      return { x: () => tf.div(tf.mul(tf.reshape(dy as tf.Tensor, shape), tf.ones(x!.shape)), count) };
    },
  },
  {
    kernelName: 'Reshape',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.reshape(dy as tf.Tensor, x!.shape) }),
  },
  {
    kernelName: 'Transpose',
    gradFunc: (dy, _saved, attrs) => {
      const perm = attrs.perm as number[];
      const inverse = new Array<number>(perm.length);
      perm.forEach((p, i) => {
        inverse[p] = i;
      });
      return { x: () => tf.transpose(dy as tf.Tensor, inverse) };
    },
  },
  {
    kernelName: 'Slice',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const d = dy as tf.Tensor;
      const begin = attrs.begin as number[] | number;
      const b = Array.isArray(begin) ? begin : [begin];
      const paddings = x!.shape.map((n, i) => [b[i] ?? 0, n - (b[i] ?? 0) - d.shape[i]!] as [number, number]);
      return { x: () => tf.pad(d, paddings) };
    },
  },
  {
    kernelName: 'SplitV',
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.concat(dy as tf.Tensor[], attrs.axis as number) }),
  },
  {
    kernelName: 'Concat',
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const rank = saved[0]!.rank;
      const axis = axesOf(attrs.axis, rank)[0]!;
      const parts = tf.split(
        dy as tf.Tensor,
        saved.map((t) => t.shape[axis]!),
        axis,
      );
      return Object.fromEntries(parts.map((p, i) => [String(i), () => p]));
    },
  },
];

let registered = false;

/** Registers the missing gradients (idempotent). Called on import of the model's ops. */
export function registerGradients(): void {
  if (registered) return;
  registered = true;
  for (const c of configs) {
    if (tf.getGradient(c.kernelName) === undefined) tf.registerGradient(c as unknown as tf.GradConfig);
  }
}

registerGradients();
