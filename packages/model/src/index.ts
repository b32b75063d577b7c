export { type BackendInfo, type BackendName, type BackendOptions, initBackend } from './backend.js';
export {
  LLAMA_CONFIG_DEFAULTS,
  type LlamaConfig,
  type RopeScaling,
  readConfigJson,
  resolveLlamaConfig,
  toConfigJson,
  writeConfigJson,
} from './config.js';
export { BackendError, CheckpointError, ConfigError, ShapeError } from './errors.js';
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
  type SafetensorsDtype,
  type SafetensorsEntry,
  type SafetensorsFile,
  type TensorToWrite,
  writeSafetensors,
} from './safetensors.js';
export { argmax, createRng, type SamplingOptions, sampleToken } from './sampling.js';
