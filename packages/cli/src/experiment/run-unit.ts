// One unit of the plan in its own folder `units/<id>/`: finetune and evaluate (phase 3-4), analyse ΔW (phase 5),
// then write `result.json` atomically, the unit's completion marker that a merge reads.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '@loralab/data';
import type { ExperimentConfig } from './config.js';
import { BackendMismatchError } from './errors.js';
import { finetuneArm } from './finetune-arm.js';
import { configHash, runPhase } from './phase-marker.js';
import { conditionOf, type Unit } from './plan.js';
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
  unit: Unit,
  runDir: string,
  reporter: Reporter,
  hooks: UnitHooks = {},
): Promise<{ result: UnitResult; skipped: boolean }> {
  const dir = unitDir(runDir, unit);
  const hash = unitHash(config, unit, prepared);
  const done = readUnitResult(runDir, unit);
  if (done && done.hash === hash) {
    if (done.result.backend !== prepared.backend)
      throw new BackendMismatchError(done.result.backend, prepared.backend, unitResultFile(runDir, unit));
    return { result: done.result, skipped: true };
  }
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
    return run;
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
