// The verdict: for each finding of Biderman et al. (2024), whether this run's numbers reproduce it. Computed from
// results.json only; every comparison is LoRA arm vs the plain full-finetuning arm of the same task, with a
// noise band of 2 standard errors of the paired per-item difference (same held-out items in both arms).
import type { ArmResult, ExperimentResults } from '../experiment/results.js';

export type Outcome = 'reproduced' | 'not reproduced' | 'inconclusive';

/** One LoRA-vs-full comparison on one metric. */
export interface Comparison {
  task: 'ift' | 'cpt';
  /** The LoRA arm (or, for the regulariser rows, the regularised full arm). */
  arm: string;
  /** The reference arm. */
  reference: string;
  metric: string;
  value: number;
  referenceValue: number;
  /** value − referenceValue. */
  difference: number;
  /** 2 × the standard error of the paired mean difference; NaN when per-item values are missing. */
  noise: number;
  /** `paper`: the difference has the paper's sign and exceeds the noise; `against`: the opposite sign beyond it. */
  direction: 'paper' | 'against' | 'within noise';
}

export interface Finding {
  id: 'learns-less' | 'forgets-less' | 'higher-rank' | 'more-diverse';
  /** The paper's claim, in one line. */
  claim: string;
  outcome: Outcome;
  /** Why, from the numbers. */
  summary: string;
  /** The comparisons that decide the outcome. */
  comparisons: Comparison[];
  /** Further comparisons shown but not counted (secondary metrics, regulariser baselines). */
  context: Comparison[];
}

/** Mean and 2 × standard error of the paired differences a_i − b_i (NaN noise when fewer than 2 pairs). */
export function pairedDifference(
  a: readonly number[],
  b: readonly number[],
): { mean: number; noise: number } {
  const n = Math.min(a.length, b.length);
  if (n === 0 || a.length !== b.length) return { mean: Number.NaN, noise: Number.NaN };
  const d = a.map((x, i) => x - b[i]!);
  const mean = d.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { mean, noise: Number.NaN };
  const variance = d.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
  return { mean, noise: 2 * Math.sqrt(variance / n) };
}

/**
 * Compares `arm` with `reference` on per-item values; `paperSign` +1 when the paper expects value > reference
 * (e.g. LoRA's target loss is higher), −1 when it expects value < reference.
 */
export function compare(
  task: 'ift' | 'cpt',
  arm: { name: string; value: number; items: readonly number[] | undefined },
  reference: { name: string; value: number; items: readonly number[] | undefined },
  metric: string,
  paperSign: 1 | -1,
): Comparison {
  const difference = arm.value - reference.value;
  const noise =
    arm.items && reference.items ? pairedDifference(arm.items, reference.items).noise : Number.NaN;
  let direction: Comparison['direction'] = 'within noise';
  if (Number.isFinite(noise) && Math.abs(difference) > noise)
    direction = Math.sign(difference) === paperSign ? 'paper' : 'against';
  return {
    task,
    arm: arm.name,
    reference: reference.name,
    metric,
    value: arm.value,
    referenceValue: reference.value,
    difference,
    noise,
    direction,
  };
}

/**
 * The rule that turns comparisons into an outcome: `reproduced` when none goes against the paper and at least
 * half go its way beyond the noise; `not reproduced` when some go against it and at least as many as go its way;
 * otherwise (all or most within noise, or mixed with more in favour) `inconclusive`.
 */
export function decide(comparisons: readonly Comparison[]): Outcome {
  if (comparisons.length === 0) return 'inconclusive';
  const paper = comparisons.filter((c) => c.direction === 'paper').length;
  const against = comparisons.filter((c) => c.direction === 'against').length;
  if (against === 0 && paper >= Math.ceil(comparisons.length / 2)) return 'reproduced';
  if (against > 0 && against >= paper) return 'not reproduced';
  return 'inconclusive';
}

const final = (a: ArmResult) => a.evals[a.evals.length - 1]?.metrics ?? {};

/** The plain full-finetuning arm of a task (no weight decay beyond the default, no dropout), or null. */
export function referenceArm(results: ExperimentResults, task: 'ift' | 'cpt'): ArmResult | null {
  const full = results.arms.filter((a) => a.arm.task === task && a.arm.method === 'full');
  return full.find((a) => a.arm.weightDecay === null && a.arm.dropout === 0) ?? full[0] ?? null;
}

function metricComparisons(
  results: ExperimentResults,
  metricOf: (task: 'ift' | 'cpt') => string | null,
  paperSign: 1 | -1,
  arms: (task: 'ift' | 'cpt', ref: ArmResult) => ArmResult[],
): Comparison[] {
  const out: Comparison[] = [];
  for (const task of ['ift', 'cpt'] as const) {
    const ref = referenceArm(results, task);
    const metric = metricOf(task);
    if (!ref || !metric || final(ref)[metric] === undefined) continue;
    for (const a of arms(task, ref)) {
      const v = final(a)[metric];
      if (v === undefined) continue;
      out.push(
        compare(
          task,
          { name: a.arm.name, value: v, items: a.items[metric] },
          { name: ref.arm.name, value: final(ref)[metric]!, items: ref.items[metric] },
          metric,
          paperSign,
        ),
      );
    }
  }
  return out;
}

const loraArms = (results: ExperimentResults) => (task: 'ift' | 'cpt') =>
  results.arms.filter((a) => a.arm.task === task && a.arm.method === 'lora');
const regularisedArms = (results: ExperimentResults) => (task: 'ift' | 'cpt', ref: ArmResult) =>
  results.arms.filter((a) => a.arm.task === task && a.arm.method === 'full' && a !== ref);

const fmt = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(3)).toString() : 'n/a');

function describe(cs: readonly Comparison[], better: string): string {
  if (cs.length === 0) return 'no comparable arms in this run';
  return cs
    .map(
      (c) =>
        `${c.arm} ${fmt(c.value)} vs ${c.reference} ${fmt(c.referenceValue)} (${c.metric}, difference ${fmt(c.difference)} ± ${fmt(c.noise)}: ${c.direction === 'paper' ? better : c.direction})`,
    )
    .join('; ');
}

function rankComparisons(results: ExperimentResults): Comparison[] {
  const out: Comparison[] = [];
  for (const task of ['ift', 'cpt'] as const) {
    const ref = referenceArm(results, task);
    if (!ref?.rank) continue;
    const refRanks = new Map(ref.rank.matrices.map((m) => [m.name, m.rank]));
    for (const a of loraArms(results)(task)) {
      if (!a.rank) continue;
      const shared = a.rank.matrices.filter((m) => refRanks.has(m.name));
      out.push(
        compare(
          task,
          { name: a.arm.name, value: a.rank.mean, items: shared.map((m) => m.rank) },
          { name: ref.arm.name, value: ref.rank.mean, items: shared.map((m) => refRanks.get(m.name)!) },
          `mean rank@${Math.round(ref.rank.tau * 100)} of ΔW`,
          -1,
        ),
      );
    }
  }
  return out;
}

/** The four findings, each decided from this run's numbers. */
export function computeVerdict(results: ExperimentResults): Finding[] {
  const targetLoss = (t: 'ift' | 'cpt') => (t === 'ift' ? 'math_loss' : 'code_loss');
  const targetScore = (t: 'ift' | 'cpt') => (t === 'ift' ? 'math_em' : 'code_pass@1');
  const diversity = (t: 'ift' | 'cpt') => (t === 'ift' ? 'math_diversity' : 'code_diversity');
  const lora = loraArms(results);

  const learn = metricComparisons(results, targetLoss, 1, lora);
  const learnContext = metricComparisons(results, targetScore, -1, lora);
  const forget = metricComparisons(results, () => 'source_bpb', -1, lora);
  const forgetContext = [
    ...metricComparisons(results, () => 'source_mc_acc', 1, lora),
    ...metricComparisons(results, () => 'source_bpb', -1, regularisedArms(results)),
  ];
  const rank = rankComparisons(results);
  const diverse = metricComparisons(results, diversity, 1, lora);

  const finding = (
    id: Finding['id'],
    claim: string,
    comparisons: Comparison[],
    context: Comparison[],
    better: string,
  ): Finding => {
    const outcome = decide(comparisons);
    return {
      id,
      claim,
      outcome,
      summary: `${outcome}: ${describe(comparisons, better)}`,
      comparisons,
      context,
    };
  };
  return [
    finding(
      'learns-less',
      'LoRA learns less: full finetuning reaches a better target-domain score (here: lower held-out target loss).',
      learn,
      learnContext,
      'LoRA learned less',
    ),
    finding(
      'forgets-less',
      'LoRA forgets less: the source domain degrades less than under full finetuning (here: held-out source bits per byte).',
      forget,
      forgetContext,
      'LoRA forgot less',
    ),
    finding(
      'higher-rank',
      'The full-finetuning update ΔW has a higher rank (rank@90) than the LoRA updates.',
      rank,
      [],
      'full ΔW has higher rank',
    ),
    finding(
      'more-diverse',
      'LoRA keeps outputs more diverse (unique samples among N generations at low temperature).',
      diverse,
      [],
      'LoRA more diverse',
    ),
  ];
}
