// The learn-vs-forget experiment end to end: tokenizer, base, finetuning arms, evaluation, rank analysis, report.
import type { ExperimentConfig } from './config.js';
import { ExperimentError } from './errors.js';
import type { Reporter } from './reporter.js';
import type { ExperimentResult } from './results.js';

export interface RunExperimentOptions {
  /** The run folder; rerunning with the same folder resumes (finished phases are skipped). */
  outputDir: string;
  reporter?: Reporter;
  signal?: AbortSignal;
}

/** Runs (or resumes) the experiment of `config` in `options.outputDir` and writes its report. */
export async function runExperiment(
  config: ExperimentConfig,
  options: RunExperimentOptions,
): Promise<ExperimentResult> {
  void config;
  throw new ExperimentError('experiment', `not implemented yet (output ${options.outputDir})`);
}
