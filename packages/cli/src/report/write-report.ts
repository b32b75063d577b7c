// Writes report.html (self-contained: inline CSS and SVG, no scripts, no external resources), report.md and the
// results.json it was drawn from, all from the run folder's results.json alone.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@loralab/data';
import { ExperimentError } from '../experiment/errors.js';
import { type ExperimentResults, RESULTS_FORMAT, RESULTS_VERSION } from '../experiment/results.js';
import { summariseArms } from './analysis.js';
import {
  LEARN_FORGET_SVG,
  learnForgetSvg,
  learningCurvesSvg,
  rankSvg,
  spectraSvg,
  sweepSvg,
  trainingCurvesSvg,
} from './charts.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import { readingNotes } from './reading.js';
import { computeVerdict } from './verdict.js';

/** Paths of the files written. */
export interface ReportFiles {
  html: string;
  md: string;
  json: string;
}

/** Reads and checks `<runDir>/results.json`. */
export function readResults(runDir: string): ExperimentResults {
  const file = join(runDir, 'results.json');
  if (!existsSync(file)) {
    throw new ExperimentError(
      'report',
      'no results.json: run `loralab experiment run` into this folder first (or let it finish)',
      { file },
    );
  }
  let value: ExperimentResults;
  try {
    value = JSON.parse(readFileSync(file, 'utf8')) as ExperimentResults;
  } catch (e) {
    throw new ExperimentError('report', `not valid JSON: ${(e as Error).message}`, { file, cause: e });
  }
  if (value?.format !== RESULTS_FORMAT || !Array.isArray(value.units)) {
    throw new ExperimentError(
      'report',
      `not an experiment results file of version ${RESULTS_VERSION} (format ${JSON.stringify(value?.format)} version ${JSON.stringify((value as { version?: unknown })?.version)}, expected ${RESULTS_FORMAT} version ${RESULTS_VERSION}); rerun the experiment or its merge`,
      { file },
    );
  }
  return value;
}

/** Everything the renderers need, computed once. */
export function reportModel(results: ExperimentResults) {
  const arms = summariseArms(results);
  const verdict = computeVerdict(results, arms);
  return {
    results,
    arms,
    verdict,
    notes: readingNotes(results, arms),
    plots: {
      learnForget: learnForgetSvg(arms),
      learning: learningCurvesSvg(arms),
      sweep: sweepSvg(arms),
      curves: trainingCurvesSvg(results, arms),
      rank: rankSvg(arms),
      spectra: spectraSvg(arms),
    },
  };
}

export type ReportModel = ReturnType<typeof reportModel>;

/** Reads `<runDir>/results.json` and writes `report.html` and `report.md` next to it. */
export async function writeReport(runDir: string): Promise<ReportFiles> {
  const model = reportModel(readResults(runDir));
  const files = {
    html: join(runDir, 'report.html'),
    md: join(runDir, 'report.md'),
    json: join(runDir, 'results.json'),
  };
  writeFileAtomic(files.html, renderHtml(model));
  // The main plot also as a standalone file, which report.md (and a README) can show as an image.
  if (model.plots.learnForget) writeFileAtomic(join(runDir, LEARN_FORGET_SVG), model.plots.learnForget);
  writeFileAtomic(files.md, renderMarkdown(model));
  return files;
}
