// HumanEval-schema problems (openai/human-eval `data/HumanEval.jsonl.gz`) and samples files.
import { DataError } from './errors.js';
import { isRecord, readJsonl } from './jsonl.js';

/** One problem in the HumanEval schema. */
export interface CodeProblem {
  /** Unique id, e.g. `HumanEval/0`. */
  task_id: string;
  /** Function signature and docstring; the completion continues it. */
  prompt: string;
  /** A reference body that passes the tests. */
  canonical_solution: string;
  /** Python source defining `check(candidate)`. */
  test: string;
  /** Name of the function passed to `check`. */
  entry_point: string;
}

/** One generated completion, as human-eval's samples files hold them (extra keys are kept). */
export interface CodeSample {
  task_id: string;
  completion: string;
  [key: string]: unknown;
}

const PROBLEM_KEYS = ['task_id', 'prompt', 'canonical_solution', 'test', 'entry_point'] as const;

/** Loads a HumanEval-schema JSONL or JSONL.gz file into a map keyed by task_id, in file order. */
export function loadCodeProblems(file: string): Map<string, CodeProblem> {
  const problems = new Map<string, CodeProblem>();
  for (const { value, line } of readJsonl(file)) {
    if (!isRecord(value)) throw new DataError('expected a JSON object per line', { file, line });
    for (const key of PROBLEM_KEYS) {
      if (typeof value[key] !== 'string') {
        throw new DataError(`expected string field "${key}" (HumanEval schema), found ${typeof value[key]}`, {
          file,
          line,
        });
      }
    }
    const problem = value as unknown as CodeProblem;
    if (problems.has(problem.task_id)) {
      throw new DataError(`duplicate task_id "${problem.task_id}"`, { file, line });
    }
    problems.set(problem.task_id, problem);
  }
  return problems;
}

/** Loads a samples file (`{"task_id", "completion", ...}` per line, JSONL or JSONL.gz). */
export function loadCodeSamples(file: string): CodeSample[] {
  return readJsonl(file).map(({ value, line }) => {
    if (!isRecord(value) || typeof value.task_id !== 'string' || typeof value.completion !== 'string') {
      throw new DataError('expected {"task_id": string, "completion": string, ...}', { file, line });
    }
    return value as CodeSample;
  });
}

/**
 * The program human-eval executes for one completion:
 * prompt + completion + "\n" + test + "\n" + `check(entry_point)`.
 */
export function buildProgram(problem: CodeProblem, completion: string): string {
  return `${problem.prompt}${completion}\n${problem.test}\ncheck(${problem.entry_point})`;
}
