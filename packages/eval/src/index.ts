// @loralab/eval: learning and forgetting evaluators — sandboxed code execution with pass@k.
export {
  buildProgram,
  type CodeProblem,
  type CodeSample,
  loadCodeProblems,
  loadCodeSamples,
} from './code-problems.js';
export { ConfigError, DataError, SandboxError } from './errors.js';
export {
  type CodeEvaluation,
  type CodeSampleResult,
  type EvaluateCodeOptions,
  evaluateCodeSamples,
  evaluateFunctionalCorrectness,
} from './evaluate-code.js';
export { type ConcreteIsolation, type ExecutionResult, executeProgram } from './execute-program.js';
export { isRecord, type JsonlRow, readJsonl, writeJsonlAtomic } from './jsonl.js';
export { estimatePassAtK, type ProblemCounts, passAtK } from './pass-at-k.js';
export {
  DEFAULT_SANDBOX_CONFIG,
  type Isolation,
  type ResolvedSandboxConfig,
  resolveSandboxConfig,
  type SandboxConfig,
} from './sandbox-config.js';
export { decideIsolation, probeSandbox, type SandboxProbe } from './sandbox-probe.js';
export { mapWithWorkers } from './worker-pool.js';
