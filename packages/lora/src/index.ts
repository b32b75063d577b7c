export {
  ADAPTER_CONFIG_NAME,
  ADAPTER_WEIGHTS_NAME,
  adapterParametersByKey,
  adapterStateDict,
  type LoadAdapterOptions,
  loadAdapter,
  loadAdapters,
  NEWER_PEFT_FIELDS,
  readAdapterConfig,
  type SaveAdapterOptions,
  saveAdapter,
  saveAdapters,
} from './adapter-folder.js';
export {
  type InitLoraWeights,
  LLAMA_DEFAULT_TARGET_MODULES,
  LLAMA_LINEAR_MODULES,
  LORA_CONFIG_DEFAULTS,
  type LoraConfig,
  type LoraInit,
  parseInitLoraWeights,
  type ResolveOptions,
  resolveLoraConfig,
  toAdapterConfigJson,
} from './config.js';
export { dora, doraWeightNorm, MAGNITUDE } from './dora.js';
export { randomLoraWeights } from './init.js';
export { type LoraLayerOptions, LoraLinear, peftParameterName } from './lora-layer.js';
export { type AddAdapterOptions, LoraModel, type TrainableParameterReport } from './lora-model.js';
export { ModulesToSaveLinear } from './modules-to-save.js';
export { pissaInit } from './pissa.js';
export { pissaConvertedConfig, pissaConvertedTensors } from './pissa-conversion.js';
export { loraScaling } from './scaling.js';
export { loraDelta, standardLora } from './standard-lora.js';
export { type Svd, svdLowrank, thinSvd } from './svd.js';
export {
  getPatternKey,
  isExcluded,
  isTargeted,
  moduleNames,
  modulesToSave,
  rankAndAlpha,
  resolveTargetModules,
  targetedProjections,
} from './target-modules.js';
export type { BaseLinear, LoraAdapter, LoraVariant } from './variant.js';
