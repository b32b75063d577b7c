// Regenerates the README's experiment table and main plot from a run's results.json (never by hand, so the README
// always shows the numbers of one real run): the table goes between the README's `experiment-table` markers, the
// learning-vs-forgetting plot to docs/img/learn-vs-forget.svg.
//   npx tsx --conditions=@loralab/source tools/readme-experiment.ts [run dir, default runs/default] [--check]
// --check: exit 1 when the README's table differs from the run's (for CI after a rerun), writing nothing.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summariseArms } from '../packages/cli/src/report/analysis.js';
import { learnForgetSvg } from '../packages/cli/src/report/charts.js';
import { computeVerdict } from '../packages/cli/src/report/verdict.js';
import { readResults } from '../packages/cli/src/report/write-report.js';

const args = process.argv.slice(2);
const check = args.includes('--check');
const runDir = args.find((a) => !a.startsWith('--')) ?? 'runs/default';
const root = new URL('..', import.meta.url).pathname;
const readmeFile = join(root, 'README.md');
const START = '<!-- experiment-table:start (tools/readme-experiment.ts writes this) -->';
const END = '<!-- experiment-table:end -->';

const results = readResults(runDir);
const arms = summariseArms(results);
const verdict = computeVerdict(results, arms);
const n3 = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? '—' : Number(x.toPrecision(3)).toString();

const SHORT: Record<(typeof verdict)[number]['id'], string> = {
  'learns-less': 'LoRA learns less',
  'forgets-less': 'LoRA forgets less',
  'higher-rank': 'full-finetuning ΔW has higher rank',
  'more-diverse': 'LoRA keeps outputs more diverse',
};
const rows = verdict.map((f) => {
  const count = (d: string) => f.comparisons.filter((c) => c.direction === d).length;
  const outcome = f.endOutcome ? `${f.outcome} at matched learning; ${f.endOutcome} at the end` : f.outcome;
  const numbers = f.comparisons
    .map((c) => `${c.condition} ${c.arm} ${n3(c.value)} vs ${n3(c.referenceValue)} (± ${n3(c.noise)})`)
    .join('; ');
  return `| ${SHORT[f.id]} | ${outcome} (${count('paper')} as the paper, ${count('against')} against, ${count('within noise')} within noise) | ${numbers || '—'} |`;
});
const env = results.environment;
const wall = (Date.parse(results.finishedAt) - Date.parse(results.startedAt)) / 1000;
const table = [
  START,
  '',
  `Run: ${results.units.length} units on the ${env.backend} backend, ${env.cpus} CPUs, ${Math.floor(wall / 60)} min ${Math.round(wall % 60)} s from ${results.startedAt} (\`${runDir}/results.json\`; regenerate this table with \`npx tsx --conditions=@loralab/source tools/readme-experiment.ts ${runDir}\`).`,
  '',
  "| finding of the paper | here | the numbers (LoRA vs full at each one's chosen lr, ± 2 SE with seeds) |",
  '| --- | --- | --- |',
  ...rows,
  '',
  END,
].join('\n');

const readme = readFileSync(readmeFile, 'utf8');
const a = readme.indexOf(START);
const b = readme.indexOf(END);
if (a < 0 || b < a) {
  console.error(`README.md has no ${START} ... ${END} markers: add them where the table belongs`);
  process.exit(2);
}
const next = `${readme.slice(0, a)}${table}${readme.slice(b + END.length)}`;
if (check) {
  if (next !== readme) {
    console.error(`README.md's experiment table differs from ${runDir}/results.json; rerun without --check`);
    process.exit(1);
  }
  console.log('README.md experiment table: up to date');
} else {
  writeFileSync(readmeFile, next);
  const svg = learnForgetSvg(arms);
  if (svg) writeFileSync(join(root, 'docs/img/learn-vs-forget.svg'), svg);
  console.log(`README.md table and docs/img/learn-vs-forget.svg written from ${runDir}/results.json`);
}
