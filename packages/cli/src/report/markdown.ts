// report.md: the verdict and tables of report.html in Markdown (the plots are in report.html).

import { LEARN_FORGET_SVG } from './charts.js';
import { escapeCell } from './escape.js';
import {
  comparisonTable,
  rankFindingTable,
  rankTable,
  resultsTable,
  setupTable,
  sweepTable,
  type Table,
  timingTable,
  verdictTable,
} from './tables.js';
import type { ReportModel } from './write-report.js';

function table(t: Table): string {
  return [
    `| ${t.headers.map(escapeCell).join(' | ')} |`,
    `| ${t.headers.map(() => '---').join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(escapeCell).join(' | ')} |`),
  ].join('\n');
}

/** The verdict rule, stated once for both renderings. */
export const VERDICT_RULE =
  "Each LoRA arm is compared with the plain full-finetuning arm of the same condition (task × domain), each at its learning rate chosen on validation loss, on the same held-out items. A difference counts only beyond the noise band 2 × sqrt(item SE² + seed SE²): the standard error of the paired per-item difference plus, with 2 or more seeds, the run-to-run standard error across seeds. 'Forgets less' is decided at matched learning (each method's forgetting interpolated along its training trajectory at the highest learning level both reach, the paper's frontier) and also reported at the end of training. Reproduced: none against the paper and at least half in its favour; not reproduced: some against and at least as many as in favour; otherwise inconclusive.";

export function renderMarkdown(m: ReportModel): string {
  const parts = [
    '# LoRA learns less and forgets less: this run',
    '',
    "A small-scale reproduction of Biderman et al. (2024). Computed from this folder's `results.json`; the plots are in `report.html`.",
    '',
    '## Verdict',
    '',
    VERDICT_RULE,
    '',
    table(verdictTable(m.verdict)),
    '',
    '## How to read this (limits of this scale)',
    '',
    ...m.notes.map((n) => `- ${n}`),
    '',
  ];
  if (m.plots.learnForget) {
    parts.push(
      "## Learning vs forgetting (the paper's Figure 3)",
      '',
      `![Learning vs forgetting: learning (drop of held-out target loss) against forgetting (rise of held-out source bits per byte), one line per arm](${LEARN_FORGET_SVG})`,
      '',
    );
  }
  for (const f of m.verdict) {
    parts.push(`### ${f.outcome}: ${f.claim}`, '', f.summary, '');
    if (f.comparisons.length) parts.push(table(comparisonTable(f.comparisons)), '');
    if (f.context.length)
      parts.push('Context (shown, not counted):', '', table(comparisonTable(f.context)), '');
  }
  parts.push(
    '## Final scores (each arm at its chosen learning rate, seeds averaged)',
    '',
    table(resultsTable(m.results, m.arms)),
    '',
  );
  parts.push('## Learning-rate sweep (chosen on validation loss)', '', table(sweepTable(m.arms)), '');
  parts.push(
    '## Rank of ΔW: full finetuning against the LoRA ranks and a Gaussian matrix',
    '',
    table(rankFindingTable(m.arms)),
    '',
  );
  parts.push('## rank@90 of ΔW per matrix', '', table(rankTable(m.arms)), '');
  parts.push('## Setup', '', table(setupTable(m.results)), '');
  parts.push('## Wall time per phase', '', table(timingTable(m.results)), '');
  return `${parts.join('\n')}\n`;
}
