// The report's tables as plain rows of strings, rendered to HTML and Markdown alike.
import type { ArmResult, ExperimentResults, Metrics } from '../experiment/results.js';
import type { Comparison, Finding } from './verdict.js';

export interface Table {
  headers: string[];
  rows: string[][];
}

/** A number with 3 significant digits (or '—' when absent). */
export function num(x: number | undefined | null, digits = 3): string {
  if (x === undefined || x === null || !Number.isFinite(x)) return '—';
  if (x !== 0 && Math.abs(x) < 1e-3) return x.toExponential(1);
  return Number(x.toPrecision(digits)).toString();
}

const pct = (x: number | undefined) => (x === undefined ? '—' : `${(100 * x).toFixed(1)}%`);

function finalMetrics(a: ArmResult): Metrics {
  return a.evals[a.evals.length - 1]?.metrics ?? {};
}

function methodLabel(a: ArmResult): string {
  if (a.arm.method === 'lora') return `LoRA r=${a.arm.r}, α=${a.arm.alpha ?? 2 * (a.arm.r ?? 0)}`;
  const extras = [
    a.arm.weightDecay !== null ? `wd ${a.arm.weightDecay}` : '',
    a.arm.dropout > 0 ? `dropout ${a.arm.dropout}` : '',
  ].filter(Boolean);
  return `full${extras.length ? ` (${extras.join(', ')})` : ''}`;
}

/** Final scores of the base and every arm: learning (target), forgetting (source), diversity and rank. */
export function resultsTable(results: ExperimentResults): Table {
  const headers = [
    'arm',
    'task',
    'method',
    'lr',
    'trainable params',
    'target loss',
    'target score',
    'source bpb',
    'source ppl',
    'source MC acc',
    'diversity',
    'rank@90 mean (attn / MLP)',
    'train s',
  ];
  const b = results.base.metrics;
  const rows: string[][] = [
    [
      'base',
      '—',
      `${results.base.origin} base`,
      '—',
      results.base.params.toLocaleString('en-US'),
      `math ${num(b.math_loss)} / code ${num(b.code_loss)}`,
      `EM ${pct(b.math_em)} / pass@1 ${pct(b['code_pass@1'])}`,
      num(b.source_bpb),
      num(b.source_ppl),
      pct(b.source_mc_acc),
      `math ${num(b.math_diversity)} / code ${num(b.code_diversity)}`,
      '—',
      '—',
    ],
  ];
  for (const a of results.arms) {
    const m = finalMetrics(a);
    const ift = a.arm.task === 'ift';
    rows.push([
      a.arm.name,
      a.arm.task.toUpperCase(),
      methodLabel(a),
      num(a.lr, 2),
      a.trainableParams.toLocaleString('en-US'),
      num(ift ? m.math_loss : m.code_loss),
      ift ? `EM ${pct(m.math_em)}` : `pass@1 ${pct(m['code_pass@1'])}`,
      num(m.source_bpb),
      num(m.source_ppl),
      pct(m.source_mc_acc),
      num(ift ? m.math_diversity : m.code_diversity),
      a.rank ? `${num(a.rank.mean)} (${num(a.rank.meanAttention)} / ${num(a.rank.meanMlp)})` : '—',
      num(a.wallSeconds, 3),
    ]);
  }
  return { headers, rows };
}

/** The comparisons behind a finding. */
export function comparisonTable(cs: readonly Comparison[]): Table {
  return {
    headers: [
      'task',
      'arm',
      'vs',
      'metric',
      'arm value',
      'reference value',
      'difference',
      '± noise (2 SE)',
      'reading',
    ],
    rows: cs.map((c) => [
      c.task.toUpperCase(),
      c.arm,
      c.reference,
      c.metric,
      num(c.value, 4),
      num(c.referenceValue, 4),
      num(c.difference, 3),
      num(c.noise, 2),
      c.direction === 'paper'
        ? 'as the paper'
        : c.direction === 'against'
          ? 'against the paper'
          : 'within noise',
    ]),
  };
}

/** The verdict at a glance. */
export function verdictTable(verdict: readonly Finding[]): Table {
  return {
    headers: ['finding', 'outcome', 'as the paper / against / within noise'],
    rows: verdict.map((f) => {
      const n = (d: Comparison['direction']) => f.comparisons.filter((c) => c.direction === d).length;
      return [f.claim, f.outcome, `${n('paper')} / ${n('against')} / ${n('within noise')}`];
    }),
  };
}

/** Rank@τ per matrix for every arm (layers × modules). */
export function rankTable(results: ExperimentResults): Table {
  const arms = results.arms.filter((a) => a.rank);
  const names = [...new Set(arms.flatMap((a) => a.rank!.matrices.map((m) => m.name)))];
  const gaussian = new Map(
    arms.flatMap((a) => a.rank!.matrices.map((m) => [m.name, m.gaussian_rank] as const)),
  );
  return {
    headers: ['matrix', 'shape', ...arms.map((a) => a.arm.name), 'Gaussian'],
    rows: names.map((name) => {
      const any = arms.flatMap((a) => a.rank!.matrices).find((m) => m.name === name)!;
      return [
        name.replace(/^model\./, '').replace(/\.weight$/, ''),
        `${any.rows}×${any.cols}`,
        ...arms.map((a) => num(a.rank!.matrices.find((m) => m.name === name)?.rank)),
        num(gaussian.get(name) ?? undefined),
      ];
    }),
  };
}

/** What was run: sizes, steps, tokens, times. */
export function setupTable(results: ExperimentResults): Table {
  const c = results.config;
  const mc = results.base.modelConfig as Record<string, number>;
  const total = Object.values(results.timings).reduce((s, x) => s + x, 0);
  return {
    headers: ['setting', 'value'],
    rows: [
      [
        'base',
        `${results.base.origin}: ${results.base.params.toLocaleString('en-US')} parameters, d=${mc.hidden_size}, layers=${mc.num_hidden_layers}, heads=${mc.num_attention_heads}, vocab=${mc.vocab_size}`,
      ],
      [
        'finetuning',
        `${c.finetune.optimizer}, full lr ${c.finetune.fullLr}, LoRA lr ×${c.finetune.loraLrMultiplier}, cosine with ${c.finetune.warmupRatio * 100}% warmup, clip ${c.finetune.clipGradNorm ?? 'off'}, ${c.finetune.microBatchSize} × ${c.finetune.seqLen} tokens per step`,
      ],
      ['steps', `IFT ${c.finetune.iftSteps}, CPT ${c.finetune.cptSteps}; seed ${c.seed}`],
      [
        'evaluation',
        `${c.eval.targetLossItems} target-loss items, ${c.eval.mathProblems} math EM problems, ${c.eval.sourceDocs} source docs, ${c.eval.choiceItems} MC items (${c.eval.choices} choices), ${c.eval.diversityPrompts} × ${c.eval.diversitySamples} samples at T=${c.eval.temperature}, ${c.eval.codeTasks} code tasks`,
      ],
      [
        'environment',
        `${results.environment.backend} backend, Node ${results.environment.node}, ${results.environment.cpus} CPUs`,
      ],
      ['time', `${num(total, 3)} s of phase work recorded (${results.startedAt} to ${results.finishedAt})`],
    ],
  };
}
