// @loralab/train: one trainer for full finetuning and LoRA, continued pretraining and instruction finetuning.
export {
  CHECKPOINTS_DIR,
  latestCheckpoint,
  listCheckpoints,
  OPTIMIZER_STATE_NAME,
  readTrainerState,
  TRAINER_STATE_NAME,
  type TrainerState,
  writeCheckpoint,
  writeDirAtomic,
} from './checkpoint.js';
export { clipFactor, globalNorm, scaleGrads } from './clip.js';
export {
  DATA_CONFIG_DEFAULTS,
  type DataConfig,
  type ModelSource,
  OPTIMIZER_DEFAULTS,
  type OptimizerConfig,
  type ResolvedTrainConfig,
  resolveTrainConfig,
  SCHEDULE_DEFAULTS,
  type ScheduleConfig,
  TRAIN_CONFIG_DEFAULTS,
  type TrainConfig,
} from './config.js';
export {
  CheckpointError,
  CollapseError,
  ConfigError,
  type DivergenceDetails,
  DivergenceError,
  TrainingError,
  type TrainingStopReason,
} from './errors.js';
export {
  createHeldOutEvaluator,
  type EvalContext,
  type Evaluator,
  type HeldOutLossOptions,
  heldOutLoss,
} from './evaluate.js';
export {
  GUARD_DEFAULTS,
  type GuardConfig,
  maxAbsWeight,
  type ResolvedGuardConfig,
  resolveGuardConfig,
  type StepSignal,
  TrainingGuard,
} from './guard.js';
export { METRICS_NAME, type MetricsRecord } from './metrics.js';
export { type ModelInputs, modelInputs } from './model-inputs.js';
export {
  createOptimizer,
  matchesAny,
  NATIVE_BACKEND,
  type Optimizer,
  type OptimizerHyper,
  type ParamGroup,
  paramGroups,
} from './optimizer.js';
export { type ResolvedSchedule, resolveSchedule, scheduleFactor } from './schedule.js';
export { dropoutSeed, type TrainHooks, type TrainResult, train } from './train.js';
export { packageVersions } from './versions.js';
