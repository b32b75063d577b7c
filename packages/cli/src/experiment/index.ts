// The learn-vs-forget experiment (Biderman et al. 2024) as recipes: config, phases and the run.

export {
  BASE_RECIPE_NAME,
  baseFingerprint,
  baseRecipe,
  copyBase,
  exportShippedBase,
  pretrainBase,
  SHIPPED_BASE_DIR,
  shippedBaseFor,
} from './base-model.js';
export {
  type ArmConfig,
  type BaseShape,
  DEFAULT_EXPERIMENT,
  ENGLISH_5M_RECIPE,
  type ExperimentConfig,
  QUICK_EXPERIMENT,
  resolveExperimentConfig,
} from './config.js';
export { ConfigError, ExperimentError } from './errors.js';
export { buildEvalSets, type EvalSets, type EvaluateOptions, evaluateModel } from './evaluation.js';
export { type ArmRun, armTrainConfig, finetuneArm } from './finetune-arm.js';
export { configHash, type PhaseMarker, readMarker, runPhase } from './phase-marker.js';
export {
  type CodeRecord,
  chatTemplateFor,
  type HeldOut,
  type MathRecord,
  readHeldOut,
  type TrainingSets,
  type TrainText,
  trainTokenizer,
  writeTrainingSets,
  writeTrainText,
} from './prepare-data.js';
export { analyseUpdate, summariseRank } from './rank-analysis.js';
export { lineReporter, type Reporter, silentReporter } from './reporter.js';
export {
  type ArmResult,
  type BaseResult,
  type CurvePoint,
  type EvalPoint,
  type ExperimentResult,
  type ExperimentResults,
  type ItemValues,
  type Metrics,
  type RankMatrix,
  type RankResult,
  RESULTS_FORMAT,
  RESULTS_VERSION,
} from './results.js';
export { type RunExperimentOptions, runExperiment } from './run-experiment.js';
