// Writes report.html (self-contained, inline SVG), report.md and the report's copy of results.json.
import { ExperimentError } from '../experiment/errors.js';

/** Paths of the files written. */
export interface ReportFiles {
  html: string;
  md: string;
  json: string;
}

/** Reads `<runDir>/results.json` and writes `report.html`, `report.md` and `results.json` next to it. */
export async function writeReport(runDir: string): Promise<ReportFiles> {
  throw new ExperimentError('report', `not implemented yet (run ${runDir})`);
}
