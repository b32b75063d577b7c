// @loralab/eval: learning and forgetting evaluators — sandboxed code execution with pass@k, GSM8K,
// multiple choice and output diversity. Models plug in through the Generator and LogLikelihood interfaces.
export { arcItem, loadArc } from './arc.js';
export { type CodeGenerationOptions, generateCodeSamples } from './code-generation.js';
export {
  buildProgram,
  type CodeProblem,
  type CodeSample,
  loadCodeProblems,
  loadCodeSamples,
} from './code-problems.js';
export { buildContinuationChoiceItems, type ContinuationChoiceOptions } from './continuation-choice.js';
export {
  normalizeCompletion,
  outputDiversity,
  type ProblemDiversity,
  type UniqueCounts,
} from './diversity.js';
export { ConfigError, DataError, SandboxError } from './errors.js';
export {
  type CodeEvaluation,
  type CodeSampleResult,
  checkSamples,
  countPasses,
  type EvaluateCodeOptions,
  evaluateCodeSamples,
  evaluateFunctionalCorrectness,
} from './evaluate-code.js';
export {
  type ConcreteIsolation,
  type ExecutionResult,
  executeProgram,
  verdictOf,
} from './execute-program.js';
export type {
  GenerationRequest,
  Generator,
  LogLikelihood,
  LogLikelihoodRequest,
  LogLikelihoodResult,
  RollingLogLikelihood,
} from './generator.js';
export {
  buildGsm8kPrompts,
  type EvaluateGsm8kOptions,
  evaluateGsm8k,
  extractFlexible,
  extractStrict,
  type Gsm8kDoc,
  type Gsm8kItem,
  type Gsm8kPromptOptions,
  type Gsm8kScore,
  gsm8kDocToText,
  gsm8kExactMatch,
  INVALID_ANSWER,
  loadGsm8k,
  normalizeGsm8kAnswer,
  scoreGsm8k,
} from './gsm8k.js';
export { type HellaswagRow, loadHellaswag, preprocessHellaswag, processHellaswag } from './hellaswag.js';
export { isRecord, type JsonlRow, readJsonl, writeJsonlAtomic } from './jsonl.js';
export {
  encodeContextContinuation,
  type ModelAdapterOptions,
  modelGenerator,
  modelLogLikelihood,
} from './model-adapters.js';
export {
  choiceItem,
  evaluateMultipleChoice,
  type MultipleChoiceItem,
  type MultipleChoiceItemScore,
  type MultipleChoiceScore,
  partialItem,
  scoreMultipleChoice,
} from './multiple-choice.js';
export { estimatePassAtK, type ProblemCounts, passAtK } from './pass-at-k.js';
export { evaluatePerplexity, type PerplexityScore, scorePerplexity } from './perplexity.js';
export { pythonJsonDumps } from './python-json.js';
export { PythonRandom } from './python-random.js';
export { pythonCapitalize, pythonLength, pythonStrip, pythonWhitespaceSplitCount } from './python-str.js';
export { readRows } from './rows.js';
export { type CgroupLayout, detectCgroups } from './sandbox-cgroup.js';
export {
  DEFAULT_SANDBOX_CONFIG,
  type Isolation,
  type ResolvedSandboxConfig,
  resolveSandboxConfig,
  type SandboxConfig,
} from './sandbox-config.js';
export {
  decideIsolation,
  describeIsolation,
  type IsolationReport,
  planIsolation,
  probeSandbox,
  type SandboxProbe,
} from './sandbox-probe.js';
export {
  evaluateFunctionalCorrectnessShard,
  mergeFunctionalCorrectness,
  type PartRow,
  partFile,
  resolveShard,
  type Shard,
  shardFromEnv,
} from './shard.js';
export {
  buildClozeChoiceItems,
  buildWordOrderChoiceItems,
  type SourceChoiceOptions,
} from './source-choice.js';
export { GSM8K_STOP_STRINGS, HUMANEVAL_STOP_STRINGS, truncateAtStop } from './stop-strings.js';
export { loadWinogrande, type WinograndeRow, winograndeItem } from './winogrande.js';
export { mapWithWorkers } from './worker-pool.js';
