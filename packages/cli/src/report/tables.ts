// The report's tables as plain rows of strings, rendered to HTML and Markdown alike.
import type { ArmConfig } from '../experiment/config.js';
import { CONDITIONS, type Condition } from '../experiment/plan.js';
import type { ExperimentResults } from '../experiment/results.js';
import type { ArmSummary } from './analysis.js';
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

function methodLabel(a: ArmConfig): string {
  if (a.method === 'lora') {
    const mods = a.targetModules === 'all' ? '' : `, ${a.targetModules} only`;
    return `LoRA r=${a.r}, α=${a.alpha ?? 2 * (a.r ?? 0)}${mods}`;
  }
  const extras = [
    a.weightDecay !== null ? `wd ${a.weightDecay}` : '',
    a.dropout > 0 ? `dropout ${a.dropout}` : '',
  ].filter(Boolean);
  return `full${extras.length ? ` (${extras.join(', ')})` : ''}`;
}

const scoreName = (c: Condition) => (c.endsWith('math') ? 'EM' : 'pass@1');

/** Final scores of the base and every arm (at its chosen lr, seeds averaged): learning, forgetting, diversity, rank. */
export function resultsTable(results: ExperimentResults, arms: readonly ArmSummary[]): Table {
  const headers = [
    'arm',
    'condition',
    'method',
    'lr (chosen)',
    'seeds',
    'trainable params',
    'target loss',
    'target score',
    'source bpb',
    'source MC acc',
    'diversity (unique samples)',
    'answer diversity',
    'rank@90 mean (attn / MLP)',
    'train s (all seeds)',
  ];
  const b = results.base;
  const rows: string[][] = [];
  for (const c of CONDITIONS) {
    const t = b.conditions[c];
    if (!t) continue;
    rows.push([
      'base',
      c,
      `${b.origin} base`,
      '—',
      '—',
      b.params.toLocaleString('en-US'),
      num(t.metrics.target_loss),
      `${scoreName(c)} ${pct(t.metrics.target_score)}`,
      num(b.metrics.source_bpb),
      pct(b.metrics.source_mc_acc),
      num(t.metrics.diversity),
      num(t.metrics.answer_diversity),
      '—',
      '—',
    ]);
  }
  for (const a of arms) {
    const m = a.metrics;
    rows.push([
      a.arm.name,
      a.condition,
      methodLabel(a.arm),
      num(a.lr, 2),
      String(a.seeds.length),
      a.trainableParams.toLocaleString('en-US'),
      num(m.target_loss),
      `${scoreName(a.condition)} ${pct(m.target_score)}`,
      num(m.source_bpb),
      pct(m.source_mc_acc),
      num(m.diversity),
      num(m.answer_diversity),
      a.rank ? `${num(a.rank.mean)} (${num(a.rank.meanAttention)} / ${num(a.rank.meanMlp)})` : '—',
      num(a.wallSeconds, 3),
    ]);
  }
  return { headers, rows };
}

/** Every learning rate of every swept arm: validation loss (the choice) and the test metrics (shown, not used). */
export function sweepTable(arms: readonly ArmSummary[]): Table {
  return {
    headers: ['arm', 'lr', 'seeds', 'validation loss', 'chosen', 'test target loss', 'source bpb'],
    rows: arms.flatMap((a) =>
      a.sweep.map((p) => [
        a.arm.name,
        num(p.lr, 2),
        String(p.units.length),
        num(p.valLoss, 4),
        p.lr === a.lr ? (a.sweep.length > 1 ? 'chosen' : 'only lr') : '',
        num(p.metrics.target_loss, 4),
        num(p.metrics.source_bpb, 4),
      ]),
    ),
  };
}

/** The comparisons behind a finding. */
export function comparisonTable(cs: readonly Comparison[]): Table {
  return {
    headers: [
      'condition',
      'arm',
      'vs',
      'metric',
      'arm value',
      'reference value',
      'difference',
      '± noise (2 SE)',
      'seeds',
      'reading',
    ],
    rows: cs.map((c) => [
      c.condition,
      c.arm,
      c.reference,
      c.metric,
      num(c.value, 4),
      num(c.referenceValue, 4),
      num(c.difference, 3),
      num(c.noise, 2),
      `${c.seeds[0]} vs ${c.seeds[1]}${c.seeds[0] < 2 && c.seeds[1] < 2 ? ' (item noise only)' : ''}`,
      c.direction === 'paper'
        ? (c.readings?.paper ?? 'as the paper')
        : c.direction === 'against'
          ? (c.readings?.against ?? 'against the paper')
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
      const outcome = f.endOutcome
        ? `${f.outcome} at matched learning; ${f.endOutcome} at the end`
        : f.outcome;
      return [f.claim, outcome, `${n('paper')} / ${n('against')} / ${n('within noise')}`];
    }),
  };
}

/**
 * The rank finding as the paper states it: the full-finetuning ΔW's rank@90 as a multiple of each LoRA rank of the
 * same condition, and against a Gaussian random matrix of the same shapes (the "as high as it gets" reference).
 */
export function rankFindingTable(arms: readonly ArmSummary[]): Table {
  const rows: string[][] = [];
  for (const a of arms) {
    if (a.arm.method !== 'full' || !a.rank) continue;
    const ranks = arms.filter((l) => l.condition === a.condition && l.arm.method === 'lora' && l.arm.r);
    const gaussian = a.rank.matrices.map((m) => m.gaussian_rank).filter((g): g is number => g !== null);
    const g = gaussian.length ? gaussian.reduce((x, y) => x + y, 0) / gaussian.length : Number.NaN;
    const rs = [...new Set(ranks.map((l) => l.arm.r!))].sort((x, y) => x - y);
    rows.push([
      a.arm.name,
      num(a.rank.mean),
      `${num(a.rank.meanAttention)} / ${num(a.rank.meanMlp)}`,
      rs.map((r) => `${num(a.rank!.mean / r, 2)}× r=${r}`).join(', ') || '—',
      num(g),
      Number.isFinite(g) ? `${pct(a.rank.mean / g)}` : '—',
    ]);
  }
  return {
    headers: [
      'full arm',
      'mean rank@90 of ΔW',
      'attention / MLP',
      'as a multiple of the LoRA ranks',
      'Gaussian ΔW of the same shapes',
      'full / Gaussian',
    ],
    rows,
  };
}

/** Rank@τ per matrix for every arm of the first condition (layers × modules). */
export function rankTable(all: readonly ArmSummary[]): Table {
  const first = all[0]?.condition;
  const arms = all.filter((a) => a.rank && a.condition === first);
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

/**
 * Wall time of each phase: the shared phases, then per unit its training with its evaluations (`unit:`), those
 * evaluations alone (`eval:`, part of `unit:`, not added to the total) and its rank analysis (`rank:`).
 */
export function timingTable(results: ExperimentResults): Table {
  const t = results.timings;
  const counted = Object.entries(t).filter(([k]) => !k.startsWith('eval:'));
  const total = counted.reduce((s, [, x]) => s + x, 0);
  return {
    headers: ['phase', 'seconds', 'share of all'],
    rows: [
      ...Object.entries(t).map(([k, v]) => [
        k,
        num(v, 3),
        k.startsWith('eval:') ? `(part of unit:${k.slice(5)})` : pct(total > 0 ? v / total : 0),
      ]),
      ['all phases', num(total, 4), '100%'],
    ],
  };
}

/** What was run: sizes, steps, tokens, times. */
export function setupTable(results: ExperimentResults): Table {
  const c = results.config;
  const mc = results.base.modelConfig as Record<string, number>;
  const total = Object.values(results.timings).reduce((s, x) => s + x, 0);
  const f = c.finetune;
  return {
    headers: ['setting', 'value'],
    rows: [
      [
        'base',
        `${results.base.origin}: ${results.base.params.toLocaleString('en-US')} parameters, d=${mc.hidden_size}, layers=${mc.num_hidden_layers}, heads=${mc.num_attention_heads}, vocab=${mc.vocab_size}`,
      ],
      [
        'finetuning',
        `${f.optimizer}, ${f.schedule} schedule with ${f.warmupRatio * 100}% warmup, clip ${f.clipGradNorm ?? 'off'}, ${f.microBatchSize} × ${f.seqLen} tokens per step, ${f.evalPoints} evaluation points`,
      ],
      ['steps', `IFT ${f.iftSteps}, CPT ${f.cptSteps} (unless an arm sets its own)`],
      ['plan', `${results.units.length} units (arm × learning rate × seed)`],
      [
        'evaluation',
        `${c.eval.targetLossItems} target-loss items, ${c.eval.validationItems} validation items per domain (lr choice), ${c.eval.mathProblems} math EM problems, ${c.eval.codeTasks} code tasks, ${c.eval.sourceDocs} source docs, ${c.eval.choiceItems} MC items (${c.eval.choices} choices) per task × ${(c.eval.choiceTasks ?? ['continuation']).join(', ')}, ${c.eval.diversityPrompts} × ${c.eval.diversitySamples} samples at T=${c.eval.temperature}`,
      ],
      [
        'environment',
        `${results.environment.backend} backend (every unit), Node ${results.environment.node}, ${results.environment.cpus} CPUs`,
      ],
      [
        'code sandbox',
        results.environment.sandbox.length
          ? results.environment.sandbox.join(' | ')
          : 'no generated code was run',
      ],
      ['time', `${num(total, 3)} s of phase work recorded (${results.startedAt} to ${results.finishedAt})`],
    ],
  };
}
