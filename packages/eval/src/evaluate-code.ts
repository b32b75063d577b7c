// Functional correctness of HumanEval-schema samples: run every sample's program in the sandbox, count
// passes per problem, compute pass@k, and write human-eval's `<samples>_results.jsonl`.
// Reference: openai/human-eval human_eval/evaluation.py (evaluate_functional_correctness).
import {
  buildProgram,
  type CodeProblem,
  type CodeSample,
  loadCodeProblems,
  loadCodeSamples,
} from './code-problems.js';
import { DataError } from './errors.js';
import { type ExecutionResult, executeProgram } from './execute-program.js';
import { writeJsonlAtomic } from './jsonl.js';
import { passAtK } from './pass-at-k.js';
import { resolveSandboxConfig, type SandboxConfig } from './sandbox-config.js';
import { describeIsolation, type IsolationReport, planIsolation } from './sandbox-probe.js';
import { mapWithWorkers } from './worker-pool.js';

/** One scored sample: the sample's own fields plus human-eval's `result` and `passed`, and the isolation used. */
export interface CodeSampleResult extends CodeSample {
  result: string;
  passed: boolean;
  /** `describeIsolation()` of the sandbox the program ran in (mode, process cap, memory, filesystem, network). */
  isolation: string;
}

export interface CodeEvaluation {
  /** One entry per sample, in the order of the samples. */
  results: CodeSampleResult[];
  /** Full execution records (output, exit status, time), in the same order. */
  executions: ExecutionResult[];
  /** Samples and passes per task_id, in problem-file order (attempted problems only). */
  counts: Map<string, { total: number; correct: number }>;
  /** Mean pass@k over the attempted problems, keyed `pass@k`. */
  passAtK: Record<string, number>;
  /** Isolation mode used. */
  isolation: 'namespaces' | 'rlimits';
  /** The isolation in force: mode, limits, cgroup, filesystem view, network, and any warning printed. */
  sandbox: IsolationReport;
}

export interface EvaluateCodeOptions {
  /** The k of pass@k; default every k from 1 to the smallest number of samples per problem. */
  k?: number[];
  /** Allow problems without samples (human-eval's `ignore_incomplete`). Default false. */
  ignoreIncomplete?: boolean;
  /** Sandbox limits and isolation. */
  sandbox?: SandboxConfig;
  /** Called after each sample with the number done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** Checks that every sample names a known problem and, unless `ignoreIncomplete`, that every problem has samples. */
export function checkSamples(
  problems: Map<string, CodeProblem>,
  samples: readonly { task_id: string }[],
  ignoreIncomplete: boolean,
): void {
  samples.forEach((s, i) => {
    if (!problems.has(s.task_id)) {
      throw new DataError(`sample ${i} has task_id "${s.task_id}", which is not in the problem set`);
    }
  });
  if (!ignoreIncomplete) {
    const attempted = new Set(samples.map((s) => s.task_id));
    const missing = [...problems.keys()].filter((id) => !attempted.has(id));
    if (missing.length > 0) {
      throw new DataError(
        `some problems are not attempted (${missing.length}, e.g. ${missing.slice(0, 3).join(', ')}); pass ignoreIncomplete to score anyway`,
      );
    }
  }
}

/** Samples and passes per attempted problem, in problem order. */
export function countPasses(
  problems: Map<string, CodeProblem>,
  results: readonly { task_id: string; passed: boolean }[],
): Map<string, { total: number; correct: number }> {
  const counts = new Map<string, { total: number; correct: number }>();
  for (const id of problems.keys()) counts.set(id, { total: 0, correct: 0 });
  for (const r of results) {
    const c = counts.get(r.task_id)!;
    c.total += 1;
    if (r.passed) c.correct += 1;
  }
  for (const [id, c] of counts) if (c.total === 0) counts.delete(id);
  return counts;
}

/** Scores samples against problems (in memory). */
export async function evaluateCodeSamples(
  problems: Map<string, CodeProblem>,
  samples: CodeSample[],
  options: EvaluateCodeOptions = {},
): Promise<CodeEvaluation> {
  const config = resolveSandboxConfig(options.sandbox);
  checkSamples(problems, samples, options.ignoreIncomplete ?? false);
  const sandbox = await planIsolation(config);
  const isolation = sandbox.mode;
  const described = describeIsolation(sandbox);
  let done = 0;
  const executions = await mapWithWorkers(samples, config.workers, async (sample, _i, slot) => {
    const program = buildProgram(problems.get(sample.task_id)!, sample.completion);
    const r = await executeProgram(program, config, isolation, slot);
    options.onProgress?.(++done, samples.length);
    return r;
  });
  const results = samples.map((s, i) => ({
    ...s,
    result: executions[i]!.result,
    passed: executions[i]!.passed,
    isolation: described,
  }));
  const counts = countPasses(problems, results);
  return {
    results,
    executions,
    counts,
    passAtK: passAtK([...counts.values()], options.k),
    isolation,
    sandbox,
  };
}

/**
 * human-eval's `evaluate_functional_correctness`: scores a samples file (no model needed) against a
 * problem file and writes `${sampleFile}_results.jsonl` (each sample plus `result` and `passed`).
 */
export async function evaluateFunctionalCorrectness(
  sampleFile: string,
  problemFile: string,
  options: EvaluateCodeOptions = {},
): Promise<CodeEvaluation & { resultsFile: string }> {
  const evaluation = await evaluateCodeSamples(
    loadCodeProblems(problemFile),
    loadCodeSamples(sampleFile),
    options,
  );
  const resultsFile = `${sampleFile}_results.jsonl`;
  writeJsonlAtomic(resultsFile, evaluation.results);
  return { ...evaluation, resultsFile };
}
