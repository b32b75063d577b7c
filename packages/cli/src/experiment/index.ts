// The learn-vs-forget experiment (Biderman et al. 2024) as recipes: config, phases and the run.

export {
  BASE_RECIPE_NAME,
  baseFingerprint,
  baseRecipe,
  exportShippedBase,
  SHIPPED_BASE_DIR,
  shippedBaseFor,
} from './base-model.js';
export {
  type ArmConfig,
  type BaseShape,
  DEFAULT_EXPERIMENT,
  type ExperimentConfig,
  QUICK_EXPERIMENT,
  resolveExperimentConfig,
} from './config.js';
export { ConfigError, ExperimentError } from './errors.js';
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
