// The experiment's report, drawn from a run folder's results.json only: report.html, report.md, results.json.
export { type ReportFiles, writeReport } from './write-report.js';
