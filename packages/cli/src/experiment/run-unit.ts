// One unit of the plan in its own folder `units/<id>/`: finetune and evaluate (phase 3-4), analyse ΔW (phase 5),
// then write `result.json` atomically, the unit's completion marker that a merge reads.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '@loralab/data';
import { loadAdapter } from '@loralab/lora';
import { loadPretrained } from '@loralab/model';
import type { ExperimentConfig } from './config.js';
import { BackendMismatchError, ExperimentError } from './errors.js';
import { addEvalPhases, evaluateModel, noEvalPhases, writeSamples } from './evaluation.js';
import { finetuneArm } from './finetune-arm.js';
import { configHash, runPhase } from './phase-marker.js';
import { chooseLr, conditionOf, planUnits, sweepOf, type Unit } from './plan.js';
import type { Prepared } from './prepare.js';
import { analyseUpdate } from './rank-analysis.js';
import type { Reporter } from './reporter.js';
import type { EvalPoint, UnitResult } from './results.js';

export const unitDir = (runDir: string, unit: Pick<Unit, 'id'>) => join(runDir, 'units', unit.id);
export const unitResultFile = (runDir: string, unit: Pick<Unit, 'id'>) =>
  join(unitDir(runDir, unit), 'result.json');

/** The hash a unit's markers and result carry: the unit, the settings every unit shares, the base and data. */
export function unitHash(
  config: ExperimentConfig,
  unit: Unit,
  prepared: Pick<Prepared, 'baseHash' | 'dataHash'>,
) {
  const { index: _index, ...rest } = unit;
  return configHash({
    unit: rest,
    finetune: config.finetune,
    eval: config.eval,
    seed: config.seed,
    rank: config.rank,
    base: prepared.baseHash,
    data: prepared.dataHash,
  });
}

/** A finished unit's result and hash, or null when the unit has not finished. */
export function readUnitResult(
  runDir: string,
  unit: Pick<Unit, 'id'>,
): { hash: string; result: UnitResult } | null {
  const file = unitResultFile(runDir, unit);
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as { hash: string; result: UnitResult };
}

/** Hooks of a unit run: step progress and cancellation. */
export interface UnitHooks {
  onStep?: (step: number, total: number) => void;
  onEval?: (step: number, full: boolean) => void;
  signal?: AbortSignal;
}

/**
 * Runs `unit` (or returns its finished result). A result of another backend is refused (BackendMismatchError);
 * one of another config is refused by the phase markers.
 */
export async function runUnit(
  config: ExperimentConfig,
  prepared: Prepared,
  planned: Unit,
  runDir: string,
  reporter: Reporter,
  hooks: UnitHooks = {},
): Promise<{ result: UnitResult; skipped: boolean }> {
  const dir = unitDir(runDir, planned);
  const hash = unitHash(config, planned, prepared);
  const done = readUnitResult(runDir, planned);
  if (done && done.hash === hash) {
    if (done.result.backend !== prepared.backend)
      throw new BackendMismatchError(done.result.backend, prepared.backend, unitResultFile(runDir, planned));
    return { result: done.result, skipped: true };
  }
  // A swept arm's chosen-lr unit: the lr its sweep chose; the sweep's run of this seed is reused, not retrained.
  let unit: Unit & { lr: number };
  if (planned.lr === null) {
    const pick = await chosenSweepUnit(config, prepared, planned, runDir, reporter, hooks.signal);
    unit = { ...planned, lr: pick.unit.lr! };
    if (pick.unit.seed === planned.seed) {
      const result = await evaluateChosen(config, prepared, unit, pick, runDir, hash, reporter);
      writeJsonAtomic(unitResultFile(runDir, unit), { hash, result });
      return { result, skipped: false };
    }
  } else unit = { ...planned, lr: planned.lr };
  const train = await runPhase(dir, 'train', hash, async () => {
    const run = await finetuneArm(
      config,
      unit,
      prepared.base.dir,
      prepared.tokenizer,
      prepared.sets,
      prepared.evalSets,
      join(dir, 'train'),
      {
        onStep: (step, total) => hooks.onStep?.(step, total),
        ...(hooks.onEval ? { onEval: hooks.onEval } : {}),
        ...(hooks.signal ? { signal: hooks.signal } : {}),
      },
    );
    const { samples, ...kept } = run;
    writeSamples(runDir, unit.id, samples);
    return kept;
  });
  const run = train.value;
  if (hooks.signal?.aborted) throw hooks.signal.reason ?? new Error('aborted');
  const rank = await runPhase(dir, 'rank', hash, async () => {
    reporter.log(`  ${unit.id}: spectra of ΔW`);
    return analyseUpdate(prepared.base.dir, run.finalDir, unit.arm.method, config.rank.tau, config.seed);
  });
  const baseTarget = prepared.base.conditions[conditionOf(unit.arm)];
  const start: EvalPoint = {
    step: 0,
    tokens: 0,
    metrics: { ...prepared.base.metrics, ...(baseTarget?.metrics ?? {}) },
    items: {
      source_bpb: prepared.base.items.source_bpb ?? [],
      target_loss: baseTarget?.items.target_loss ?? [],
    },
  };
  const result: UnitResult = {
    unit,
    backend: prepared.backend,
    trainableParams: run.trainableParams,
    steps: run.steps,
    tokens: run.tokens,
    wallSeconds: train.seconds,
    evalSeconds: run.evalSeconds,
    evalPhases: run.evalPhases,
    rankSeconds: rank.seconds,
    curve: run.curve,
    evals: [start, ...run.evals],
    items: run.items,
    rank: rank.value,
    sandbox: run.sandbox,
  };
  writeJsonAtomic(unitResultFile(runDir, unit), { hash, result });
  return { result, skipped: false };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The sweep unit whose lr a chosen-lr unit takes (plan.ts `chooseLr` on the sweep's validation losses), with its
 * result. Sweep units another process of a job array has not finished yet are waited for.
 */
async function chosenSweepUnit(
  config: ExperimentConfig,
  prepared: Prepared,
  unit: Unit,
  runDir: string,
  reporter: Reporter,
  signal?: AbortSignal,
): Promise<{ unit: Unit; result: UnitResult }> {
  const sweep = sweepOf(planUnits(config), unit);
  let waited = false;
  for (;;) {
    const done = sweep.map((u) => readUnitResult(runDir, u));
    if (done.every((d) => d !== null)) {
      for (const [i, d] of done.entries()) {
        if (d.hash !== unitHash(config, sweep[i]!, prepared)) {
          throw new ExperimentError(
            `unit:${unit.id}`,
            `the sweep unit ${sweep[i]!.id} was run under another config`,
            {
              file: unitResultFile(runDir, sweep[i]!),
            },
          );
        }
      }
      const i = chooseLr(
        done.map((d) => d.result.evals[d.result.evals.length - 1]?.metrics.val_loss ?? Number.NaN),
      );
      return { unit: sweep[i]!, result: done[i]!.result };
    }
    if (!waited) {
      const left = done.filter((d) => d === null).length;
      reporter.log(
        `${unit.id}: waiting for ${left} of the ${sweep.length} sweep units of ${unit.arm.name} (other processes)`,
      );
    }
    waited = true;
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    await sleep(2000);
  }
}

/**
 * The chosen-lr unit of the sweep's own seed: the sweep run's trained weights, evaluated fully (generation, multiple
 * choice, code), with the sweep run's curve, evaluation points and rank analysis.
 */
async function evaluateChosen(
  config: ExperimentConfig,
  prepared: Prepared,
  unit: Unit & { lr: number },
  pick: { unit: Unit; result: UnitResult },
  runDir: string,
  hash: string,
  reporter: Reporter,
): Promise<UnitResult> {
  const finalDir = join(unitDir(runDir, pick.unit), 'train', 'final');
  const full = await runPhase(unitDir(runDir, unit), 'eval', hash, async () => {
    reporter.log(`  ${unit.id}: the full evaluation of ${pick.unit.id} (lr ${unit.lr}, chosen by its sweep)`);
    const lora = unit.arm.method === 'lora';
    const { model } = await loadPretrained(lora ? prepared.base.dir : finalDir);
    let evaluated = model;
    try {
      if (lora) evaluated = (await loadAdapter(model, finalDir)).mergeAndUnload();
      const out = await evaluateModel(evaluated, prepared.tokenizer, prepared.evalSets, config, {
        condition: conditionOf(unit.arm),
        full: true,
        seed: unit.seed,
        cheapItems: true,
      });
      writeSamples(runDir, unit.id, out.samples);
      return { metrics: out.metrics, items: out.items, phases: out.phases, sandbox: out.sandbox ?? null };
    } finally {
      evaluated.dispose();
    }
  });
  const seconds = full.seconds;
  const r = pick.result;
  const last = r.evals[r.evals.length - 1]!;
  return {
    ...r,
    unit,
    wallSeconds: r.wallSeconds + seconds,
    evalSeconds: r.evalSeconds + seconds,
    evalPhases: addEvalPhases(r.evalPhases ?? noEvalPhases(), full.value.phases),
    // The metrics the sweep run already had (those of the lr choice) are kept; the full evaluation adds the rest.
    evals: [...r.evals.slice(0, -1), { ...last, metrics: { ...full.value.metrics, ...last.metrics } }],
    items: { ...full.value.items, ...last.items },
    sandbox: full.value.sandbox,
  };
}
