// The learn-vs-forget experiment (Biderman et al. 2024) as recipes: config, plan of units, phases, run and merge.

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
  arm,
  type BaseShape,
  DEFAULT_EXPERIMENT,
  type Domain,
  type ExperimentConfig,
  QUICK_EXPERIMENT,
  resolveExperimentConfig,
  SHIPPED_BASE_RECIPE,
  type TargetModules,
  type Task,
} from './config.js';
export { BackendMismatchError, ConfigError, ExperimentError, UnitMergeError } from './errors.js';
export { buildEvalSets, type EvalSets, type EvaluateOptions, evaluateModel } from './evaluation.js';
export { type ArmRun, armTrainConfig, finetuneArm, TARGET_MODULES, trainingSetOf } from './finetune-arm.js';
export { type JobScriptOptions, k8sIndexedJob, runLocalJobs, slurmArrayScript } from './jobs.js';
export { type MergeOptions, mergeRun, readRunConfig } from './merge.js';
export { configHash, type PhaseMarker, readMarker, runPhase } from './phase-marker.js';
export {
  armLrs,
  armSeeds,
  CONDITIONS,
  type Condition,
  conditionOf,
  lrLabel,
  planConditions,
  planUnits,
  type Unit,
  unitsOfRank,
} from './plan.js';
export { openRunFolder, type Prepared, prepareShared, writeRunConfig } from './prepare.js';
export {
  type CodeRecord,
  chatTemplateFor,
  type HeldOut,
  type MathRecord,
  mathTextOf,
  type Records,
  readHeldOut,
  type TrainingSets,
  type TrainText,
  trainText,
  trainTokenizer,
  writeTrainingSets,
} from './prepare-data.js';
export { analyseUpdate, summariseRank } from './rank-analysis.js';
export { lineReporter, type Reporter, silentReporter } from './reporter.js';
export {
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
  type UnitResult,
} from './results.js';
export {
  RunEta,
  type RunExperimentOptions,
  runExperiment,
  runUnits,
  unitsForProcess,
} from './run-experiment.js';
export { readUnitResult, runUnit, unitDir, unitHash } from './run-unit.js';
