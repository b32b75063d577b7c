// The merge step: builds results.json (and the report) from a run folder's prepare markers and unit folders,
// whichever processes or machines ran them. Refuses an incomplete plan, units of another config and units of
// two backends, each with a named error.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { writeJsonAtomic } from '@loralab/data';
import { writeReport } from '../report/write-report.js';
import type { ExperimentConfig } from './config.js';
import { BackendMismatchError, ExperimentError, UnitMergeError } from './errors.js';
import { readMarker } from './phase-marker.js';
import { planUnits } from './plan.js';
import type { Prepared } from './prepare.js';
import {
  type BaseResult,
  type ExperimentResults,
  RESULTS_FORMAT,
  RESULTS_VERSION,
  type UnitResult,
} from './results.js';
import { readUnitResult, unitHash } from './run-unit.js';

function packageVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['cli', 'train', 'model', 'lora', 'data', 'tokenizer', 'eval', 'rank']) {
    try {
      const url = new URL(`../../../${name}/package.json`, import.meta.url);
      out[`@loralab/${name}`] = (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
    } catch {
      // an installed (not workspace) layout: versions are in the lockfile
    }
  }
  return out;
}

/** The config a run folder was started with (`config.json`). */
export function readRunConfig(runDir: string): ExperimentConfig {
  const file = join(runDir, 'config.json');
  if (!existsSync(file)) {
    throw new ExperimentError(
      'merge',
      'no config.json: not an experiment run folder (start one with `loralab experiment run` or `loralab experiment jobs`)',
      { file },
    );
  }
  return JSON.parse(readFileSync(file, 'utf8')) as ExperimentConfig;
}

/** Options of a merge. */
export interface MergeOptions {
  /** ISO start time to record (the single-process run passes its own); default the earliest unit marker's. */
  startedAt?: string;
  /** Extra phase timings (the single-process run passes those of the phases it ran). */
  timings?: Record<string, number>;
}

/**
 * Reads every unit of the plan of `<runDir>/config.json` and writes `results.json` and the report. The shared
 * phases' hashes come from their markers, so a unit finished under another config or base is refused.
 */
export async function mergeRun(
  runDir: string,
  options: MergeOptions = {},
): Promise<{ results: ExperimentResults; report: { html: string; md: string; json: string } }> {
  const config = readRunConfig(runDir);
  const units = planUnits(config);
  const marker = <T>(phase: string) => {
    const file = join(runDir, '.done', `${phase}.json`);
    if (!existsSync(file))
      throw new UnitMergeError(`the shared phase "${phase}" has not finished (run prepare first)`, [], file);
    const m = JSON.parse(readFileSync(file, 'utf8')) as { configHash: string };
    return readMarker<T>(runDir, phase, m.configHash)!;
  };
  const base = marker<BaseResult>('base');
  const datasets = marker<unknown>('datasets');
  const hashes: Pick<Prepared, 'baseHash' | 'dataHash'> = {
    baseHash: base.configHash,
    dataHash: datasets.configHash,
  };
  const missing: string[] = [];
  const mismatched: string[] = [];
  const results: UnitResult[] = [];
  for (const u of units) {
    const r = readUnitResult(runDir, u);
    if (!r) missing.push(u.id);
    else if (r.hash !== unitHash(config, u, hashes)) mismatched.push(u.id);
    // The planned unit (the arm as configured now), with the lr it ran at (a chosen-lr unit's, from its sweep).
    else results.push({ ...r.result, unit: { ...u, lr: r.result.unit.lr } });
  }
  if (missing.length) {
    throw new UnitMergeError(
      `${missing.length} of ${units.length} units have not finished (no units/<id>/result.json): ${missing.join(', ')}; run them (loralab experiment run-unit --index K) and merge again`,
      missing,
      join(runDir, 'units'),
    );
  }
  if (mismatched.length) {
    throw new UnitMergeError(
      `${mismatched.length} units were run under another config or base: ${mismatched.join(', ')}; rerun them into this folder or use a new one`,
      mismatched,
      join(runDir, 'units'),
    );
  }
  const planned = new Set(units.map((u) => u.id));
  const dir = join(runDir, 'units');
  const strays = existsSync(dir) ? readdirSync(dir).filter((d) => !planned.has(d)) : [];
  if (strays.length) {
    throw new UnitMergeError(
      `unit folders not in this config's plan: ${strays.join(', ')}; a folder holds one config's units (move them away)`,
      strays,
      dir,
    );
  }
  const backendFile = join(runDir, 'backend.json');
  const backend = existsSync(backendFile)
    ? (JSON.parse(readFileSync(backendFile, 'utf8')) as { backend: string }).backend
    : (results[0]?.backend ?? 'unknown');
  for (const r of results)
    if (r.backend !== backend)
      throw new BackendMismatchError(backend, r.backend, join(dir, r.unit.id, 'result.json'));

  const timings: Record<string, number> = {};
  for (const phase of ['tokenizer', 'datasets', 'base']) {
    const file = join(runDir, '.done', `${phase}.json`);
    if (existsSync(file))
      timings[phase] = (JSON.parse(readFileSync(file, 'utf8')) as { seconds: number }).seconds;
  }
  for (const r of results) {
    timings[`unit:${r.unit.id}`] = r.wallSeconds;
    timings[`eval:${r.unit.id}`] = r.evalSeconds ?? 0;
    timings[`rank:${r.unit.id}`] = r.rankSeconds;
  }
  Object.assign(timings, options.timings ?? {});
  const out: ExperimentResults = {
    format: RESULTS_FORMAT,
    version: RESULTS_VERSION,
    config,
    environment: {
      backend,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpus().length,
      packages: packageVersions(),
      sandbox: [...new Set(results.flatMap((r) => (r.sandbox ? [r.sandbox] : [])))],
    },
    startedAt: options.startedAt ?? base.finishedAt,
    finishedAt: new Date().toISOString(),
    timings,
    base: base.value,
    units: results,
  };
  writeJsonAtomic(join(runDir, 'results.json'), out);
  const report = await writeReport(runDir);
  return { results: out, report };
}
