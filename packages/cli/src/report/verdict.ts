// The verdict: for each finding of Biderman et al. (2024), whether this run's numbers reproduce it. Computed from
// results.json only; every comparison is a LoRA arm against the plain full-finetuning arm of the same condition,
// each at its learning rate chosen on validation (analysis.ts), seeds averaged. The noise band is
// 2 × sqrt(item SE² + seed SE²): the standard error of the paired per-item difference (same held-out items) plus,
// with 2 or more seeds, the run-to-run standard error var(seeds_a)/n_a + var(seeds_b)/n_b.

import type { Condition } from '../experiment/plan.js';
import type { ExperimentResults } from '../experiment/results.js';
import {
  type ArmSummary,
  forgettingAt,
  maxLearning,
  referenceOf,
  summariseArms,
  trajectory,
} from './analysis.js';

export type Outcome = 'reproduced' | 'not reproduced' | 'inconclusive';

/** One LoRA-vs-full comparison on one metric. */
export interface Comparison {
  condition: Condition;
  /** The LoRA arm (or, for the regulariser rows, the regularised full arm). */
  arm: string;
  /** The reference arm. */
  reference: string;
  metric: string;
  value: number;
  referenceValue: number;
  /** value − referenceValue. */
  difference: number;
  /** 2 × sqrt(item SE² + seed SE²) of the difference; NaN when neither can be estimated. */
  noise: number;
  /** Seeds behind each side; run-to-run noise enters `noise` only when a side has 2 or more. */
  seeds: [number, number];
  /** `paper`: the difference has the paper's sign and exceeds the noise; `against`: the opposite sign beyond it. */
  direction: 'paper' | 'against' | 'within noise';
  /** How to read `paper` and `against` when the row is not a test of the paper's claim (regulariser rows). */
  readings?: { paper: string; against: string };
}

export interface Finding {
  id: 'learns-less' | 'forgets-less' | 'higher-rank' | 'more-diverse';
  /** The paper's claim, in one line. */
  claim: string;
  outcome: Outcome;
  /** Why, from the numbers. */
  summary: string;
  /** Forgets-less only: the outcome of the end-point comparisons (the context), beside the matched-learning one. */
  endOutcome?: Outcome;
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

/** Sample variance / n of per-seed values (0 with fewer than 2 seeds: no run-to-run estimate from that side). */
function seedVarianceOfMean(xs: readonly number[]): number {
  const v = xs.filter(Number.isFinite);
  if (v.length < 2) return 0;
  const m = v.reduce((s, x) => s + x, 0) / v.length;
  return v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1) / v.length;
}

/** One side of a comparison: its value, per-item values (seed means) and per-seed values. */
export interface Side {
  name: string;
  value: number;
  items: readonly number[] | undefined;
  perSeed: readonly number[];
}

/**
 * Compares `arm` with `reference`; `paperSign` +1 when the paper expects value > reference (e.g. LoRA's target
 * loss is higher), −1 when it expects value < reference.
 */
export function compare(
  condition: Condition,
  arm: Side,
  reference: Side,
  metric: string,
  paperSign: 1 | -1,
): Comparison {
  const difference = arm.value - reference.value;
  const itemNoise =
    arm.items && reference.items ? pairedDifference(arm.items, reference.items).noise : Number.NaN;
  const seedVar = seedVarianceOfMean(arm.perSeed) + seedVarianceOfMean(reference.perSeed);
  const itemVar = Number.isFinite(itemNoise) ? (itemNoise / 2) ** 2 : 0;
  const noise = Number.isFinite(itemNoise) || seedVar > 0 ? 2 * Math.sqrt(itemVar + seedVar) : Number.NaN;
  let direction: Comparison['direction'] = 'within noise';
  if (Number.isFinite(noise) && Math.abs(difference) > noise)
    direction = Math.sign(difference) === paperSign ? 'paper' : 'against';
  return {
    condition,
    arm: arm.name,
    reference: reference.name,
    metric,
    value: arm.value,
    referenceValue: reference.value,
    difference,
    noise,
    seeds: [arm.perSeed.length, reference.perSeed.length],
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

const side = (a: ArmSummary, metric: string): Side | null =>
  a.metrics[metric] === undefined
    ? null
    : {
        name: a.arm.name,
        value: a.metrics[metric]!,
        items: a.items[metric],
        perSeed: a.perSeed.map((m) => m[metric] ?? Number.NaN),
      };

const conditionsOf = (arms: readonly ArmSummary[]) => [...new Set(arms.map((a) => a.condition))];

/** Final-metric comparisons of `arms(condition)` against the condition's reference arm. */
function metricComparisons(
  arms: readonly ArmSummary[],
  metric: string,
  paperSign: 1 | -1,
  pick: (condition: Condition, ref: ArmSummary) => ArmSummary[],
): Comparison[] {
  const out: Comparison[] = [];
  for (const condition of conditionsOf(arms)) {
    const ref = referenceOf(arms, condition);
    const r = ref && side(ref, metric);
    if (!ref || !r) continue;
    for (const a of pick(condition, ref)) {
      const s = side(a, metric);
      if (s) out.push(compare(condition, s, r, metric, paperSign));
    }
  }
  return out;
}

const loraOf = (arms: readonly ArmSummary[]) => (condition: Condition) =>
  arms.filter((a) => a.condition === condition && a.arm.method === 'lora');
const regularisedOf = (arms: readonly ArmSummary[]) => (condition: Condition, ref: ArmSummary) =>
  arms.filter((a) => a.condition === condition && a.arm.method === 'full' && a !== ref);

/**
 * Forgetting at matched learning: the highest learning level both arms reach (on every seed's trajectory and on the
 * seed means'), each arm's forgetting interpolated there, per seed for the run-to-run noise and per item for the
 * item noise.
 */
export function matchedLearning(a: ArmSummary, ref: ArmSummary): Comparison | null {
  const ta = trajectory(a.evals);
  const tr = trajectory(ref.evals);
  // The highest level every trajectory reaches (each seed's and the seed means'), so every seed has a value there.
  const seedLevels = [...a.units, ...ref.units].map((u) => maxLearning(trajectory(u.evals)));
  const level = Math.min(maxLearning(ta), maxLearning(tr), ...seedLevels);
  if (!(level > 0)) return null;
  const fa = forgettingAt(ta, level);
  const fr = forgettingAt(tr, level);
  if (!fa || !fr) return null;
  const perSeed = (s: ArmSummary) =>
    s.units.map((u) => forgettingAt(trajectory(u.evals), level)?.value ?? Number.NaN).filter(Number.isFinite);
  const c = compare(
    a.condition,
    { name: a.arm.name, value: fa.value, items: fa.items, perSeed: perSeed(a) },
    { name: ref.arm.name, value: fr.value, items: fr.items, perSeed: perSeed(ref) },
    `forgetting (Δ source bpb) at learning ${Number(level.toPrecision(3))} nats`,
    -1,
  );
  return c;
}

function rankComparisons(arms: readonly ArmSummary[]): Comparison[] {
  const out: Comparison[] = [];
  for (const condition of conditionsOf(arms)) {
    const ref = referenceOf(arms, condition);
    if (!ref?.rank) continue;
    const refRanks = new Map(ref.rank.matrices.map((m) => [m.name, m.rank]));
    for (const a of loraOf(arms)(condition)) {
      if (!a.rank) continue;
      const shared = a.rank.matrices.filter((m) => refRanks.has(m.name));
      out.push(
        compare(
          condition,
          {
            name: a.arm.name,
            value: meanOf(shared.map((m) => m.rank)),
            items: shared.map((m) => m.rank),
            perSeed: a.units.map((u) => u.rank?.mean ?? Number.NaN),
          },
          {
            name: ref.arm.name,
            value: meanOf(shared.map((m) => refRanks.get(m.name)!)),
            items: shared.map((m) => refRanks.get(m.name)!),
            perSeed: ref.units.map((u) => u.rank?.mean ?? Number.NaN),
          },
          `mean rank@${Math.round(ref.rank.tau * 100)} of ΔW (matrices the LoRA arm adapts)`,
          -1,
        ),
      );
    }
  }
  return out;
}

const meanOf = (xs: readonly number[]) =>
  xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;

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

/** The four findings, each decided from this run's numbers. */
export function computeVerdict(
  results: ExperimentResults,
  arms: ArmSummary[] = summariseArms(results),
): Finding[] {
  const lora = loraOf(arms);
  const learn = metricComparisons(arms, 'target_loss', 1, lora);
  const learnContext = metricComparisons(arms, 'target_score', -1, lora);
  const matched: Comparison[] = [];
  for (const condition of conditionsOf(arms)) {
    const ref = referenceOf(arms, condition);
    if (!ref) continue;
    for (const a of lora(condition)) {
      const c = matchedLearning(a, ref);
      if (c) matched.push(c);
    }
  }
  const forgetEnd = metricComparisons(arms, 'source_bpb', -1, lora).map((c) => ({
    ...c,
    metric: 'source bpb at the end',
  }));
  const forgetContext = [
    ...forgetEnd,
    ...metricComparisons(arms, 'source_mc_acc', 1, lora),
    // Regularised full finetuning against plain full finetuning: did weight decay or dropout reduce forgetting?
    ...metricComparisons(arms, 'source_bpb', -1, regularisedOf(arms)).map((c) => ({
      ...c,
      readings: { paper: 'forgot less than plain full', against: 'forgot more than plain full' },
    })),
  ];
  const rank = rankComparisons(arms);
  const diverse = metricComparisons(arms, 'diversity', 1, lora);
  const diverseContext = metricComparisons(arms, 'answer_diversity', 1, lora);

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
  const forgets = finding(
    'forgets-less',
    "LoRA forgets less: at matched learning (the paper's frontier), the source domain degrades less than under full finetuning (here: held-out source bits per byte).",
    matched,
    forgetContext,
    'LoRA forgot less',
  );
  forgets.endOutcome = decide(forgetEnd);
  forgets.summary += `. At the end of training (end-point comparison): ${forgets.endOutcome}.`;
  return [
    finding(
      'learns-less',
      'LoRA learns less: full finetuning reaches a better target-domain score (here: lower held-out target loss).',
      learn,
      learnContext,
      'LoRA learned less',
    ),
    forgets,
    finding(
      'higher-rank',
      'The full-finetuning update ΔW has a higher rank (rank@90) than the LoRA updates.',
      rank,
      [],
      'full ΔW has higher rank',
    ),
    finding(
      'more-diverse',
      'LoRA keeps outputs more diverse (unique whole samples among N generations at low temperature).',
      diverse,
      diverseContext,
      'LoRA more diverse',
    ),
  ];
}
