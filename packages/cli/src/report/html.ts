// report.html: one self-contained page (inline CSS and SVG; no scripts, fonts, images or links to fetch).
import { escapeXml } from './escape.js';
import { VERDICT_RULE } from './markdown.js';
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

const CSS = `
body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.outcome { font-weight: bold; padding: 1px 6px; border-radius: 3px; }
.reproduced { background: #d7f0d7; } .not-reproduced { background: #f6d5d5; } .inconclusive { background: #f4ecc8; }
figure { margin: 1em 0; } figcaption { font-size: 0.9em; color: #555; max-width: 900px; }
.note { color: #555; font-size: 0.9em; }
`;

function table(t: Table): string {
  const head = `<tr>${t.headers.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr>`;
  const body = t.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeXml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table>\n${head}\n${body}\n</table>`;
}

function figure(svg: string, caption: string): string {
  if (!svg) return `<p class="note">(${escapeXml(caption)}: nothing to plot in this run.)</p>`;
  // Inline SVG in HTML needs no namespace declaration; dropping it leaves the page without a single URL.
  const inline = svg.replace(' xmlns="http://www.w3.org/2000/svg"', '');
  return `<figure>${inline}<figcaption>${escapeXml(caption)}</figcaption></figure>`;
}

function outcomeBadge(outcome: string): string {
  return `<span class="outcome ${outcome.replace(/ /g, '-')}">${escapeXml(outcome)}</span>`;
}

export function renderHtml(m: ReportModel): string {
  const r = m.results;
  const verdict = m.verdict
    .map(
      (f) => `<h3>${outcomeBadge(f.outcome)} ${escapeXml(f.claim)}</h3>
<p>${escapeXml(f.summary)}</p>
${f.comparisons.length ? table(comparisonTable(f.comparisons)) : ''}
${f.context.length ? `<p class="note">Context (shown, not counted):</p>${table(comparisonTable(f.context))}` : ''}`,
    )
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>loralab: LoRA learns less and forgets less — experiment report</title>
<style>${CSS}</style>
</head>
<body>
<h1>LoRA learns less and forgets less: this run</h1>
<p>A small-scale reproduction of Biderman et al. (2024), "LoRA Learns Less and Forgets Less" (TMLR): a small Llama
base pretrained on the source domain is finetuned on target domains by full finetuning and by LoRA at several
ranks; learning is measured on held-out target data, forgetting on held-out source data. Everything below is computed
from this run folder's <code>results.json</code>.</p>
<h2>Verdict</h2>
<p class="note">${escapeXml(VERDICT_RULE)}</p>
${table(verdictTable(m.verdict))}
<h2>How to read this (limits of this scale)</h2>
<ul>${m.notes.map((n) => `<li>${escapeXml(n)}</li>`).join('\n')}</ul>
${verdict}
<h2>Learning vs forgetting (the paper's Figure 3)</h2>
${figure(m.plots.learnForget, 'Each line is one arm at its chosen learning rate (seeds averaged), through its evaluation points from the base model at (0, 0) to the end of training. Up is more learning (drop of held-out target loss), right is more forgetting (rise of held-out source bits per byte): for the same learning, a line further left forgets less. Dashed: full finetuning with a regulariser (weight decay or dropout); the plain full-finetuning reference is drawn last, on top.')}
<h2>Learning curves</h2>
${figure(m.plots.learning, 'Held-out target loss at each evaluation point of training, each arm at its chosen learning rate (seeds averaged).')}
<h2>Final scores</h2>
${table(resultsTable(r, m.arms))}
<p class="note">target loss: mean next-token loss of held-out math answers or code solutions given the prompt (chat for
IFT, plain text for CPT); target score: GSM8K-style strict exact match (math) or HumanEval-style pass@1 (code);
source bpb: held-out source documents; source MC acc: true continuation vs distractors, by log-likelihood; diversity:
share of unique whole samples among N per prompt (the paper's metric); answer diversity (math): distinct final answers.</p>
<h2>Learning-rate sweep</h2>
${figure(m.plots.sweep, 'Final validation target loss against the learning rate, per swept arm (seeds averaged); the lowest is chosen.')}
${table(sweepTable(m.arms))}
<h2>Training curves</h2>
${figure(m.plots.curves, 'Training loss per optimizer step (first seed of the chosen learning rate).')}
<h2>Rank of the weight updates</h2>
${table(rankFindingTable(m.arms))}
${figure(m.plots.rank, 'rank@90 of ΔW = W_finetuned − W_base: the number of singular values that hold 90% of Σσ², for every arm of the first condition (where the rank and regulariser arms are); the table above gives every full arm. The line marks a Gaussian matrix of the same shape and norm.')}
${figure(m.plots.spectra, 'Singular values of ΔW normalised by the largest, averaged over the analysed matrices.')}
${table(rankTable(m.arms))}
<h2>Setup</h2>
${table(setupTable(r))}
<h2>Wall time per phase</h2>
${table(timingTable(r))}
</body>
</html>
`;
}
