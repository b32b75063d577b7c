export {
  type BackendInfo,
  type BackendName,
  type BackendOptions,
  initBackend,
  type ReleasedMemory,
  releaseBackendCaches,
} from './backend.js';
export {
  CHECKSUMS_NAME,
  type ChecksumsFile,
  checksumOf,
  type FileChecksum,
  fileChecksum,
  forgetChecksums,
  readChecksums,
  readVerifiedFile,
  recordChecksums,
  recordedChecksum,
  sha256Hex,
  verifyFileChecksum,
} from './checksums.js';
export {
  LLAMA_CONFIG_DEFAULTS,
  type LlamaConfig,
  type RopeScaling,
  readConfigJson,
  resolveLlamaConfig,
  toConfigJson,
  writeConfigJson,
} from './config.js';
export { BackendError, CheckpointError, ConfigError, IntegrityError, ShapeError } from './errors.js';
export { type IdsInput, MASK_VALUE } from './forward-inputs.js';
export { writeFileAtomic } from './fs-atomic.js';
export { type FinishReason, type GenerateOptions, type GenerateResult, generate } from './generate.js';
export {
  checkpointFiles,
  type LoadOptions,
  type LoadReport,
  loadPretrained,
  loadSafetensorsInto,
  type SaveOptions,
  savePretrained,
  stateDict,
} from './hf-folder.js';
export { KVCache } from './kv-cache.js';
export { type CreateModelOptions, type ForwardOptions, LlamaForCausalLM } from './llama-model.js';
export {
  type LoglikelihoodOptions,
  type LoglikelihoodRequest,
  type LoglikelihoodResult,
  logLikelihood,
} from './log-likelihood.js';
export {
  causalLmLoss,
  crossEntropySum,
  IGNORE_INDEX,
  type LossResult,
  linearCrossEntropySum,
} from './loss.js';
export {
  bmm,
  dropout,
  fusedLoraLinearAvailable,
  gatherRows,
  linear,
  loraLinear,
  setWasmBmmLoopThreshold,
  silu,
} from './ops.js';
export { type ForwardContext, Linear, type Parameter, type Projection } from './projection.js';
export { rmsNorm } from './rms-norm.js';
export { applyRope, ropeInverseFrequencies, ropeTables } from './rope.js';
export {
  openSafetensors,
  readSafetensors,
  type SafeTensor,
  type SafetensorsArray,
  type SafetensorsDtype,
  type SafetensorsEntry,
  type SafetensorsFile,
  TENSOR_SHA256_PREFIX,
  type TensorToWrite,
  type TypedSafeTensor,
  type Verification,
  type VerifyOptions,
  type WeightDtype,
  writeSafetensors,
} from './safetensors.js';
export { f8e4m3ToF32, f8e5m2ToF32, f8e8m0ToF32 } from './safetensors-dtypes.js';
export { argmax, createRng, type SamplingOptions, sampleToken, sampleTokens } from './sampling.js';
