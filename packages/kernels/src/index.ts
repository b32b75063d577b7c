export {
  ADDON_PATH,
  detectCoreType,
  type KernelsReport,
  loadAddon,
  type NativeAddon,
  nativeEnvironment,
} from './addon.js';
export {
  CACHED_ATTENTION,
  cachedAttention,
  cachedAttentionReference,
  hasCachedAttentionKernel,
  writeInPlace,
} from './cached-attention.js';
export { CAUSAL_ATTENTION, causalAttention, causalAttentionReference } from './causal-attention.js';
export { DEFAULT_KERNELS_CONFIG, type KernelsConfig, resolveKernelsConfig } from './config.js';
export {
  CROSS_ENTROPY,
  type CrossEntropyReduction,
  crossEntropy,
  crossEntropyReference,
  IGNORE_INDEX,
} from './cross-entropy.js';
export { DROPOUT, dropout } from './dropout.js';
export { ConfigError, ShapeError } from './errors.js';
export { type HeadLayout, hasNativeKernel } from './fused-op.js';
export {
  createLapackSvd,
  type DenseMatrix,
  type LapackSvd,
  type LapackSvdOptions,
  type LapackSvdResult,
} from './lapack-svd.js';
export {
  LINEAR_CROSS_ENTROPY,
  type LinearCrossEntropyOptions,
  linearCrossEntropy,
  linearCrossEntropyReference,
} from './linear-cross-entropy.js';
export {
  hasFusedLoraLinear,
  LORA_LINEAR,
  loraLinear,
  loraLinearReference,
} from './lora-linear.js';
export { broadcastBatchIndices } from './matmul.js';
export { NativeBackend, nativeBackendActive } from './native-backend.js';
export {
  type AdamWConfig,
  DEFAULT_ADAMW_CONFIG,
  DEFAULT_LION_CONFIG,
  InPlaceAdamW,
  InPlaceLion,
  type LionConfig,
  resolveAdamWConfig,
  resolveLionConfig,
} from './optimizer.js';
export {
  bf16Supported,
  getMatmulPrecision,
  MATMUL_PRECISIONS,
  type MatmulPrecision,
  setMatmulPrecision,
} from './precision.js';
export {
  kernelsReport,
  NATIVE_KERNEL_NAMES,
  type NativeBackendRegistration,
  registerNativeBackend,
} from './register.js';
export { RMS_NORM, rmsNorm, rmsNormReference } from './rms-norm.js';
export { applyRope, ROPE, ropeReference } from './rope.js';
export { type RowSampling, sampleRowsNative } from './sampling.js';
export { SWIGLU, swiglu, swigluReference } from './swiglu.js';
