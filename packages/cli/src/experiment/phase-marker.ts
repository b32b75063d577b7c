// Completion markers: a phase that finished writes `<run>/.done/<phase>.json` (atomically) with what it produced;
// a rerun of the same run folder reads it and skips the phase. A marker records the hash of the config parts the
// phase depends on, so a changed config is refused rather than silently mixed with old results.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '@loralab/data';
import { ExperimentError } from './errors.js';

export interface PhaseMarker<T> {
  phase: string;
  configHash: string;
  finishedAt: string;
  seconds: number;
  value: T;
}

/** A stable hash of a JSON value (key order as given: configs are built in a fixed order). */
export function configHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

function markerFile(runDir: string, phase: string): string {
  return join(runDir, '.done', `${phase.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
}

/** The marker of a finished phase, or null. Throws when it was finished under another config. */
export function readMarker<T>(runDir: string, phase: string, hash: string): PhaseMarker<T> | null {
  const file = markerFile(runDir, phase);
  if (!existsSync(file)) return null;
  const marker = JSON.parse(readFileSync(file, 'utf8')) as PhaseMarker<T>;
  if (marker.configHash !== hash) {
    throw new ExperimentError(
      phase,
      `this run folder finished the phase under another config (hash ${marker.configHash}, now ${hash}); use a new output folder or the original config`,
      { file },
    );
  }
  return marker;
}

/**
 * Runs `work` unless the phase's marker exists; returns its value and whether it was skipped. The marker is
 * written only after `work` resolves, so an interrupted phase reruns from its start.
 */
export async function runPhase<T>(
  runDir: string,
  phase: string,
  hash: string,
  work: () => Promise<T>,
): Promise<{ value: T; skipped: boolean; seconds: number }> {
  const done = readMarker<T>(runDir, phase, hash);
  if (done) return { value: done.value, skipped: true, seconds: done.seconds };
  const t0 = performance.now();
  const value = await work();
  const seconds = (performance.now() - t0) / 1000;
  mkdirSync(join(runDir, '.done'), { recursive: true });
  const marker: PhaseMarker<T> = {
    phase,
    configHash: hash,
    finishedAt: new Date().toISOString(),
    seconds,
    value,
  };
  writeJsonAtomic(markerFile(runDir, phase), marker);
  return { value, skipped: false, seconds };
}
