// Shared plumbing of the fused ops: each op runs its native forward kernel inside tf.customGrad (so autodiff
// around it still works and the backward kernel computes all input gradients in one pass), and falls back to a
// composite of tfjs ops, its reference, on any backend where the kernel is not registered.
import * as tf from '@tensorflow/tfjs-core';

/** Whether the active backend has a native kernel of this name. */
export function hasNativeKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

/** Runs a registered kernel and returns its outputs as tensors (always an array). */
export function runKernel(
  kernelName: string,
  inputs: Record<string, tf.Tensor>,
  attrs: Record<string, number | boolean> = {},
): tf.Tensor[] {
  const out = tf
    .engine()
    .runKernel(kernelName, inputs as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap);
  return Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
}

/** Product of dimensions. */
export const sizeOf = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/** Forward of a fused op: its value and the gradients of all its inputs from the tensors it saved. */
export type FusedForward<I extends tf.Tensor[]> = (
  inputs: I,
  save: tf.GradSaveFunc,
) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

/** tf.customGrad with the inputs as one array (tfjs's typing cannot express the trailing `save` argument). */
export function customOp<I extends tf.Tensor[]>(forward: FusedForward<I>): (...inputs: I) => tf.Tensor {
  const f = (...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    return forward(args as I, save);
  };
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
    ...inputs: I
  ) => tf.Tensor;
}

/**
 * Memory layout of per-head tensors: 'bhtd' = (batch, heads, time, head dim), the usual attention layout; 'bthd' =
 * (batch, time, heads, head dim), what a projection's (B·T, heads·hd) output is after a plain reshape, so the fused
 * ops can skip the transposes into and out of 'bhtd'.
 */
export type HeadLayout = 'bhtd' | 'bthd';

/** [B, H, T, D] of a rank-4 shape in `layout`. */
export function headDims(shape: readonly number[], layout: HeadLayout): [number, number, number, number] {
  const [a, b, c, d] = shape as [number, number, number, number];
  return layout === 'bthd' ? [a, c, b, d] : [a, b, c, d];
}

/** Checks a layout argument (a typo would otherwise silently mean 'bhtd'). */
export function checkLayout(layout: string, op: string): void {
  if (layout !== 'bhtd' && layout !== 'bthd') {
    throw new Error(`${op}: layout must be 'bhtd' or 'bthd', found '${layout}'`);
  }
}
