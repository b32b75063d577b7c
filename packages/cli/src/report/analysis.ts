// From units to arms: the learning-rate choice per arm on validation loss (the paper's App. B), the seeds of the
// chosen learning rate averaged, and the learning-vs-forgetting frontier of each arm (the paper's Figure 3/4).
// Rules fixed in advance (never tuned to a result):
// - lr choice: the lowest final `val_loss` of the sweep run of each lr (the arm's first seed; validation items
//   disjoint from the reported test items; loss rather than accuracy because a few dozen validation items cannot
//   rank lrs by exact match or pass@1);
// - learning = base target loss − target loss; forgetting = source bits per byte − the base's;
// - matched learning: the highest learning level both methods reach (on the seed-mean trajectory), each method's
//   forgetting interpolated linearly along its training trajectory at the first crossing of that level.
import type { ArmConfig } from '../experiment/config.js';
import { type Condition, chooseLr, conditionOf } from '../experiment/plan.js';
import type {
  EvalPoint,
  ExperimentResults,
  ItemValues,
  Metrics,
  RankResult,
  UnitResult,
} from '../experiment/results.js';

/** One learning rate of an arm: its seeds and their mean validation loss. */
export interface LrPoint {
  lr: number;
  units: UnitResult[];
  valLoss: number;
  /** Mean final test metrics over seeds (shown in the sweep table, never used for the choice). */
  metrics: Metrics;
}

/** An arm at its chosen learning rate, seeds combined. */
export interface ArmSummary {
  arm: ArmConfig;
  condition: Condition;
  sweep: LrPoint[];
  /** The chosen learning rate and its seeds. */
  lr: number;
  units: UnitResult[];
  seeds: number[];
  /** Mean over seeds of the final metrics, and per seed. */
  metrics: Metrics;
  perSeed: Metrics[];
  /** Per-item final values averaged over seeds. */
  items: ItemValues;
  /** Seed-mean evaluation points (same steps in every seed). */
  evals: EvalPoint[];
  rank: RankResult | null;
  trainableParams: number;
  wallSeconds: number;
}

const meanOf = (xs: readonly number[]) =>
  xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;

function meanMetrics(ms: readonly Metrics[]): Metrics {
  const out: Metrics = {};
  for (const k of new Set(ms.flatMap((m) => Object.keys(m)))) {
    const vs = ms.map((m) => m[k]).filter((v): v is number => v !== undefined);
    if (vs.length === ms.length) out[k] = meanOf(vs);
  }
  return out;
}

function meanItems(its: readonly ItemValues[]): ItemValues {
  const out: ItemValues = {};
  for (const k of new Set(its.flatMap((m) => Object.keys(m)))) {
    const vs = its.map((m) => m[k]);
    if (vs.some((v) => !v) || new Set(vs.map((v) => v!.length)).size !== 1) continue;
    out[k] = vs[0]!.map((_, i) => meanOf(vs.map((v) => v![i]!)));
  }
  return out;
}

const finalMetrics = (u: UnitResult) => u.evals[u.evals.length - 1]?.metrics ?? {};

/** Seed-mean evaluation points: points at the same step in every seed. */
function meanEvals(units: readonly UnitResult[]): EvalPoint[] {
  const first = units[0]!;
  return first.evals.flatMap((e) => {
    const same = units.map((u) => u.evals.find((x) => x.step === e.step));
    if (same.some((x) => !x)) return [];
    const pts = same as EvalPoint[];
    return [
      {
        step: e.step,
        tokens: e.tokens,
        metrics: meanMetrics(pts.map((p) => p.metrics)),
        items: meanItems(pts.map((p) => p.items ?? {})),
      },
    ];
  });
}

function meanRank(units: readonly UnitResult[]): RankResult | null {
  const ranks = units.map((u) => u.rank).filter((r): r is RankResult => r !== null);
  if (ranks.length === 0) return null;
  const first = ranks[0]!;
  return {
    ...first,
    matrices: first.matrices.map((m, i) => ({
      ...m,
      rank: meanOf(ranks.map((r) => r.matrices[i]?.rank ?? m.rank)),
    })),
    mean: meanOf(ranks.map((r) => r.mean)),
    meanAttention: meanOf(ranks.map((r) => r.meanAttention)),
    meanMlp: meanOf(ranks.map((r) => r.meanMlp)),
  };
}

/**
 * Groups the units by arm (config order), chooses each arm's learning rate and combines its seeds. A swept arm's
 * sweep is its `sweep` units and its seeds are its `chosen` units; results without stages (every unit a full run
 * of its lr) are grouped by lr and chosen by the same rule.
 */
export function summariseArms(results: ExperimentResults): ArmSummary[] {
  const byArm = new Map<string, UnitResult[]>();
  for (const u of results.units) {
    const list = byArm.get(u.unit.arm.name) ?? [];
    list.push(u);
    byArm.set(u.unit.arm.name, list);
  }
  return [...byArm.values()].map((units) => {
    const swept = units.filter((u) => u.unit.stage === 'sweep');
    const pointsOf = (us: UnitResult[]): LrPoint[] =>
      [...new Set(us.map((u) => u.unit.lr!))].map((lr) => {
        const at = us.filter((u) => u.unit.lr === lr);
        const metrics = meanMetrics(at.map(finalMetrics));
        return { lr, units: at, valLoss: metrics.val_loss ?? Number.NaN, metrics };
      });
    const sweep = pointsOf(swept.length > 0 ? swept : units);
    const best = sweep[chooseLr(sweep.map((p) => p.valLoss))]!;
    const chosen = swept.length > 0 ? units.filter((u) => u.unit.stage !== 'sweep') : best.units;
    return {
      arm: chosen[0]!.unit.arm,
      condition: conditionOf(chosen[0]!.unit.arm),
      sweep,
      lr: best.lr,
      units: chosen,
      seeds: chosen.map((u) => u.unit.seed),
      metrics: meanMetrics(chosen.map(finalMetrics)),
      perSeed: chosen.map(finalMetrics),
      items: meanItems(chosen.map((u) => u.items)),
      evals: meanEvals(chosen),
      rank: meanRank(chosen),
      trainableParams: chosen[0]!.trainableParams,
      wallSeconds: chosen.reduce((s, u) => s + u.wallSeconds, 0),
    };
  });
}

/** The plain full-finetuning arm of a condition (no extra weight decay, no dropout), or null. */
export function referenceOf(arms: readonly ArmSummary[], condition: Condition): ArmSummary | null {
  const full = arms.filter((a) => a.condition === condition && a.arm.method === 'full');
  return full.find((a) => a.arm.weightDecay === null && a.arm.dropout === 0) ?? full[0] ?? null;
}

/** A point of a learning-vs-forgetting trajectory, with per-item values for the item noise. */
export interface FrontierPoint {
  step: number;
  learning: number;
  forgetting: number;
  learningItems: number[];
  forgettingItems: number[];
}

/** The trajectory (learning, forgetting) of one unit's (or a seed-mean's) evaluation points, base first. */
export function trajectory(evals: readonly EvalPoint[]): FrontierPoint[] {
  const base = evals[0];
  if (!base) return [];
  const b = base.metrics;
  const bi = base.items ?? {};
  return evals
    .filter((e) => e.metrics.target_loss !== undefined && e.metrics.source_bpb !== undefined)
    .map((e) => ({
      step: e.step,
      learning: b.target_loss! - e.metrics.target_loss!,
      forgetting: e.metrics.source_bpb! - b.source_bpb!,
      learningItems: (e.items?.target_loss ?? []).map((x, i) => (bi.target_loss?.[i] ?? Number.NaN) - x),
      forgettingItems: (e.items?.source_bpb ?? []).map((x, i) => x - (bi.source_bpb?.[i] ?? Number.NaN)),
    }));
}

/** The highest learning a trajectory reaches. */
export const maxLearning = (t: readonly FrontierPoint[]) => Math.max(0, ...t.map((p) => p.learning));

/**
 * Forgetting at learning level `level`: linear interpolation on the first segment of the trajectory (in training
 * order) whose learning reaches `level`; per item with the same weights. Null when the level is never reached.
 */
export function forgettingAt(
  t: readonly FrontierPoint[],
  level: number,
): { value: number; items: number[] } | null {
  for (let i = 0; i < t.length; i++) {
    const p = t[i]!;
    if (p.learning < level) continue;
    if (i === 0) return { value: p.forgetting, items: p.forgettingItems };
    const q = t[i - 1]!;
    const w = p.learning === q.learning ? 1 : (level - q.learning) / (p.learning - q.learning);
    const mix = (a: number, b: number) => a + w * (b - a);
    return {
      value: mix(q.forgetting, p.forgetting),
      items: p.forgettingItems.map((x, j) => mix(q.forgettingItems[j] ?? Number.NaN, x)),
    };
  }
  return null;
}

/** Mean final step of an arm's units and the mean of its seed trajectories (for plots). */
export function armTrajectory(a: ArmSummary): FrontierPoint[] {
  return trajectory(a.evals);
}
