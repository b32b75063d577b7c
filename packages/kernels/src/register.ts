// Registers the 'loralab-native' backend: every `cpu` kernel, with the matrix products and the fused block ops
// replaced or added by native ones. Safe to call many times; prints one notice when the addon is unavailable.
import '@tensorflow/tfjs-backend-cpu'; // registers the `cpu` kernels that the native backend inherits
import * as tf from '@tensorflow/tfjs-core';
import { type KernelsReport, loadAddon } from './addon.js';
import { cachedAttentionKernels } from './cached-attention.js';
import { causalAttentionKernels } from './causal-attention.js';
import { type KernelsConfig, resolveKernelsConfig } from './config.js';
import { crossEntropyKernels } from './cross-entropy.js';
import { dropoutKernels } from './dropout.js';
import {
  addKernel,
  concatKernel,
  gatherKernel,
  padKernel,
  scatterRowsKernel,
  sliceKernel,
  transposeKernel,
} from './layout.js';
import { linearCrossEntropyKernels } from './linear-cross-entropy.js';
import { loraLinearKernels } from './lora-linear.js';
import { batchMatMulKernel, fusedMatMulKernel } from './matmul.js';
import { NativeBackend } from './native-backend.js';
import {
  addNKernel,
  BINARY_OPS,
  binaryKernel,
  softmaxKernel,
  sumKernel,
  UNARY_OPS,
  unaryKernel,
} from './pointwise.js';
import { rmsNormKernels } from './rms-norm.js';
import { ropeKernels } from './rope.js';
import { swigluKernels } from './swiglu.js';

export interface NativeBackendRegistration {
  /** True when the backend is registered and usable with tf.setBackend(backendName). */
  registered: boolean;
  backendName: string;
  report: KernelsReport;
}

let noticeShown = false;

/** Kernel names the native backend implements natively (the rest are the `cpu` backend's). */
export const NATIVE_KERNEL_NAMES: readonly string[] = [
  tf.BatchMatMul,
  tf._FusedMatMul,
  tf.Transpose,
  tf.GatherV2,
  tf.Slice,
  tf.PadV2,
  ...Object.keys(BINARY_OPS),
  ...Object.keys(UNARY_OPS),
  tf.Sum,
  tf.AddN,
  tf.Softmax,
  tf.Concat,
  tf.ScatterNd,
  ...[
    rmsNormKernels,
    ropeKernels,
    swigluKernels,
    causalAttentionKernels,
    cachedAttentionKernels,
    crossEntropyKernels,
    linearCrossEntropyKernels,
    loraLinearKernels,
    dropoutKernels,
  ].flatMap((ks) => ks.map((k) => k.kernelName)),
];

/**
 * Loads the addon and registers the native backend under `config.backendName` (default 'loralab-native').
 * Returns registered: false (after one notice line on stderr) when the addon is off, not built or fails to load.
 */
export function registerNativeBackend(config: Partial<KernelsConfig> = {}): NativeBackendRegistration {
  const c = resolveKernelsConfig(config);
  const { addon, report } = loadAddon(c);
  if (addon === null) {
    if (c.notice && !noticeShown) {
      noticeShown = true;
      console.warn(
        `@loralab/kernels: native kernels unavailable (${report.reason}); using TensorFlow.js backends.`,
      );
    }
    return { registered: false, backendName: c.backendName, report };
  }
  if (tf.findBackendFactory(c.backendName) !== null) {
    return { registered: true, backendName: c.backendName, report };
  }
  // LORALAB_POOL_POISON=1 (the test suites set it) fills every pooled kernel output with NaN before the kernel runs.
  const poison = process.env.LORALAB_POOL_POISON === '1';
  tf.registerBackend(
    c.backendName,
    () => new NativeBackend(addon, c.bufferPoolMiB * 1024 * 1024, poison),
    c.priority,
  );
  const cpu = (name: string) => {
    const k = tf.getKernel(name, 'cpu');
    if (k === undefined) throw new Error(`the tfjs cpu backend has no ${name} kernel`);
    return k.kernelFunc;
  };
  const own: tf.KernelConfig[] = [
    {
      kernelName: tf.BatchMatMul,
      backendName: c.backendName,
      kernelFunc: batchMatMulKernel(cpu(tf.BatchMatMul)),
    },
    { kernelName: tf.Transpose, backendName: c.backendName, kernelFunc: transposeKernel(cpu(tf.Transpose)) },
    { kernelName: tf.GatherV2, backendName: c.backendName, kernelFunc: gatherKernel(cpu(tf.GatherV2)) },
    ...Object.keys(BINARY_OPS).map((name) => ({
      kernelName: name,
      backendName: c.backendName,
      kernelFunc: name === tf.Add ? addKernel(binaryKernel(name, cpu(name))) : binaryKernel(name, cpu(name)),
    })),
    ...Object.keys(UNARY_OPS).map((name) => ({
      kernelName: name,
      backendName: c.backendName,
      kernelFunc: unaryKernel(name, cpu(name)),
    })),
    { kernelName: tf.Sum, backendName: c.backendName, kernelFunc: sumKernel(cpu(tf.Sum)) },
    { kernelName: tf.AddN, backendName: c.backendName, kernelFunc: addNKernel(cpu(tf.AddN)) },
    { kernelName: tf.Softmax, backendName: c.backendName, kernelFunc: softmaxKernel(cpu(tf.Softmax)) },
    { kernelName: tf.Concat, backendName: c.backendName, kernelFunc: concatKernel(cpu(tf.Concat)) },
    {
      kernelName: tf.ScatterNd,
      backendName: c.backendName,
      kernelFunc: scatterRowsKernel(cpu(tf.ScatterNd)),
    },
    { kernelName: tf.Slice, backendName: c.backendName, kernelFunc: sliceKernel(cpu(tf.Slice)) },
    { kernelName: tf.PadV2, backendName: c.backendName, kernelFunc: padKernel(cpu(tf.PadV2)) },
    { kernelName: tf._FusedMatMul, backendName: c.backendName, kernelFunc: fusedMatMulKernel(c.backendName) },
    ...[
      rmsNormKernels,
      ropeKernels,
      swigluKernels,
      causalAttentionKernels,
      // an addon built before the cached-attention kernel existed: generation grows its cache by concatenation
      typeof addon.attentionCached === 'function' ? cachedAttentionKernels : [],
      crossEntropyKernels,
      linearCrossEntropyKernels,
      loraLinearKernels,
      typeof addon.dropout === 'function' ? dropoutKernels : [], // likewise: an addon built before it
    ]
      .flat()
      .map((k) => ({ ...k, backendName: c.backendName })),
  ];
  const ownNames = new Set(own.map((k) => k.kernelName));
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (!ownNames.has(k.kernelName)) tf.registerKernel({ ...k, backendName: c.backendName });
  }
  for (const k of own) tf.registerKernel(k);
  return { registered: true, backendName: c.backendName, report };
}

/** What the addon reports (core type, BLAS config, threads) without registering anything. */
export function kernelsReport(config: Partial<KernelsConfig> = {}): KernelsReport {
  return loadAddon(resolveKernelsConfig(config)).report;
}
