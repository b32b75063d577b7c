// The experiment's report, drawn from a run folder's results.json only: report.html, report.md, results.json.
export { LEARN_FORGET_SVG } from './charts.js';
export { type ReportFiles, writeReport } from './write-report.js';
