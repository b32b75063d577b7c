// The learn-vs-forget experiment end to end (Biderman et al. 2024): the shared phases (tokenizer, datasets, base
// and its scores), then the plan's units (arm × learning rate × seed: finetuning with evaluation along the way, rank
// analysis of ΔW), then the merge into results.json and the report. Every phase leaves a completion marker, so
// rerunning the same folder skips what is finished; `rank`/`worldSize` run a share of the units (a job array).
import { resolveRank } from '@loralab/data';
import type { ExperimentConfig } from './config.js';
import { ExperimentError } from './errors.js';
import { mergeRun } from './merge.js';
import { planUnits, type Unit, unitsOfRank } from './plan.js';
import { prepareShared } from './prepare.js';
import { type Reporter, silentReporter } from './reporter.js';
import type { ExperimentResult } from './results.js';
import { runUnit } from './run-unit.js';

export interface RunExperimentOptions {
  /** The run folder; rerunning with the same folder resumes (finished phases are skipped). */
  outputDir: string;
  reporter?: Reporter;
  signal?: AbortSignal;
}

/** Seconds as `m:ss`. */
const clock = (s: number) =>
  Number.isFinite(s) && s >= 0 ? `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}` : '?';

/**
 * Estimates the time left from the work done: a unit's cost is counted in optimizer steps (evaluation included in
 * the measured time per step), so the ETA covers every remaining unit of this process.
 */
export class RunEta {
  private doneSteps = 0;
  private spent = 0;
  private left: number;
  constructor(remainingSteps: number) {
    this.left = remainingSteps;
  }
  /** A unit of `steps` steps took `seconds` (a skipped unit is not counted in the rate). */
  finished(steps: number, seconds: number, skipped: boolean): void {
    if (!skipped) {
      this.doneSteps += steps;
      this.spent += seconds;
    }
    this.left -= steps;
  }
  /** Seconds left for the remaining units, or NaN before any unit ran here. */
  eta(): number {
    if (this.doneSteps === 0) return Number.NaN;
    return (this.spent / this.doneSteps) * Math.max(0, this.left);
  }
}

/** Runs the units of `units` in order in this process, reporting unit k of n with one ETA for all of them. */
export async function runUnits(
  config: ExperimentConfig,
  units: readonly Unit[],
  runDir: string,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<{ skipped: string[]; timings: Record<string, number> }> {
  const prepared = await prepareShared(config, runDir, reporter);
  const skipped = [...prepared.skipped];
  const timings: Record<string, number> = { ...prepared.timings };
  const total = planUnits(config).length;
  const eta = new RunEta(units.reduce((s, u) => s + u.steps, 0));
  for (const [k, unit] of units.entries()) {
    if (signal?.aborted)
      throw new ExperimentError('experiment', 'aborted; rerun with the same output folder to resume');
    const t0 = performance.now();
    const left = eta.eta();
    const head = `[unit ${k + 1}/${units.length}${units.length !== total ? ` (plan #${unit.index + 1} of ${total})` : ''}]`;
    const label = `${head} ${unit.id}`;
    let announced = false;
    const { result, skipped: was } = await runUnit(config, prepared, unit, runDir, reporter, {
      onStep: (step, steps) => {
        if (!announced) {
          reporter.log(
            `${head} ${unit.id}: ${unit.arm.method}${unit.arm.r ? ` r=${unit.arm.r}` : ''} on ${unit.arm.task} ${unit.arm.domain}, lr ${unit.lr ?? 'chosen by its sweep'}, seed ${unit.seed}; ${Number.isFinite(left) ? `about ${clock(left)} left in all` : 'ETA after the first unit'}`,
          );
          announced = true;
        }
        reporter.progress(label, step, steps);
      },
      onEval: (step, full) => {
        if (full)
          reporter.log(
            `${head} ${unit.id}: final evaluation at step ${step} (generation, multiple choice, validation)`,
          );
      },
      ...(signal ? { signal } : {}),
    });
    const seconds = (performance.now() - t0) / 1000;
    eta.finished(unit.steps, seconds, was);
    if (was) skipped.push(`unit:${unit.id}`);
    else {
      reporter.done?.(label);
      timings[`unit:${unit.id}`] = result.wallSeconds;
      timings[`eval:${unit.id}`] = result.evalSeconds;
      timings[`rank:${unit.id}`] = result.rankSeconds;
      const last = result.evals[result.evals.length - 1]!.metrics;
      reporter.log(
        `${head} ${unit.id}: ${Object.entries(last)
          .filter(([key]) => !key.endsWith('_ppl'))
          .map(([key, v]) => `${key} ${v.toFixed(3)}`)
          .join(', ')} (${clock(seconds)}; ${clock(eta.eta())} left)`,
      );
    }
  }
  return { skipped, timings };
}

/**
 * Runs (or resumes) the experiment of `config` in `options.outputDir`: every unit of the plan in this process,
 * then the merge into results.json and the report.
 */
export async function runExperiment(
  config: ExperimentConfig,
  options: RunExperimentOptions,
): Promise<ExperimentResult> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const reporter = options.reporter ?? silentReporter;
  const units = planUnits(config);
  reporter.log(`plan: ${units.length} units (arm × learning rate × seed) in ${options.outputDir}`);
  const { skipped, timings } = await runUnits(config, units, options.outputDir, reporter, options.signal);
  reporter.log('merge: results.json and the report');
  const { results, report } = await mergeRun(options.outputDir, { startedAt, timings });
  reporter.log(`report: ${report.html}`);
  return {
    outputDir: options.outputDir,
    resultsFile: report.json,
    report,
    results,
    wallSeconds: (performance.now() - t0) / 1000,
    skipped,
  };
}

/** Which units this process runs in a job array: an explicit index, else the shared rank resolution. */
export function unitsForProcess(
  config: ExperimentConfig,
  select: { index?: number | null; rank?: number | null; worldSize?: number | null },
  env: Record<string, string | undefined> = process.env,
): { units: Unit[]; rank: number; worldSize: number; from: string } {
  const all = planUnits(config);
  if (select.index !== undefined && select.index !== null) {
    const u = all[select.index];
    if (!u) {
      throw new ExperimentError(
        'run-unit',
        `no unit ${select.index}: the plan has ${all.length} units (0..${all.length - 1})`,
      );
    }
    return { units: [u], rank: select.index, worldSize: all.length, from: 'index' };
  }
  const r = resolveRank({ rank: select.rank ?? null, worldSize: select.worldSize ?? null }, env);
  return { units: unitsOfRank(all, r.rank, r.worldSize), rank: r.rank, worldSize: r.worldSize, from: r.from };
}
