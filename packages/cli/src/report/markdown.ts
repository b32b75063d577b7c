// report.md: the verdict and tables of report.html in Markdown (the plots are in report.html).
import { escapeCell } from './escape.js';
import { comparisonTable, rankTable, resultsTable, setupTable, type Table, verdictTable } from './tables.js';
import type { ReportModel } from './write-report.js';

function table(t: Table): string {
  return [
    `| ${t.headers.map(escapeCell).join(' | ')} |`,
    `| ${t.headers.map(() => '---').join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(escapeCell).join(' | ')} |`),
  ].join('\n');
}

export function renderMarkdown(m: ReportModel): string {
  const parts = [
    '# LoRA learns less and forgets less: this run',
    '',
    "A small-scale reproduction of Biderman et al. (2024). Computed from this folder's `results.json`; the plots are in `report.html`.",
    '',
    '## Verdict',
    '',
    'Each LoRA arm is compared with the plain full-finetuning arm of the same task on the same held-out items; a difference counts only beyond 2 standard errors of the paired difference. Reproduced: none against the paper and at least half in its favour; not reproduced: some against and at least as many as in favour; otherwise inconclusive.',
    '',
    table(verdictTable(m.verdict)),
    '',
  ];
  for (const f of m.verdict) {
    parts.push(`### ${f.outcome}: ${f.claim}`, '', f.summary, '');
    if (f.comparisons.length) parts.push(table(comparisonTable(f.comparisons)), '');
    if (f.context.length)
      parts.push('Context (shown, not counted):', '', table(comparisonTable(f.context)), '');
  }
  parts.push('## Final scores', '', table(resultsTable(m.results)), '');
  parts.push('## rank@90 of ΔW per matrix', '', table(rankTable(m.results)), '');
  parts.push('## Setup', '', table(setupTable(m.results)), '');
  return `${parts.join('\n')}\n`;
}
