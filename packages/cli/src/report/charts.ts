// The report's plots as inline SVG (drawn with @loralab/rank's dependency-free chart renderer): the learning-vs-
// forgetting frontier per condition (the paper's Figure 3), learning curves, the lr sweep, training curves, rank@90 by
// layer and by module, ΔW spectra. Every arm of a condition is in every plot of that condition.
import { type ChartSeries, type ChartSpec, renderPanels } from '@loralab/rank';
import { CONDITIONS, type Condition } from '../experiment/plan.js';
import type { ExperimentResults } from '../experiment/results.js';
import { type ArmSummary, referenceOf, trajectory } from './analysis.js';

/** The learning-vs-forgetting plot (the paper's Figure 3) as a standalone SVG next to the report. */
export const LEARN_FORGET_SVG = 'learn-vs-forget.svg';

const PALETTE = [
  '#d62728',
  '#1f77b4',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
];

/** A stable colour per arm: distinct within a condition (at most 10 arms per condition get distinct colours). */
export function armColors(arms: readonly ArmSummary[]): Map<string, string> {
  const seen = new Map<string, number>();
  return new Map(
    arms.map((a) => {
      const i = seen.get(a.condition) ?? 0;
      seen.set(a.condition, i + 1);
      return [a.arm.name, PALETTE[i % PALETTE.length]!];
    }),
  );
}

export const CONDITION_TITLE: Record<Condition, string> = {
  'ift-math': 'IFT, math',
  'ift-code': 'IFT, code',
  'cpt-math': 'CPT, math',
  'cpt-code': 'CPT, code',
};
export const MODULE_ORDER = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

const conditionsOf = (arms: readonly ArmSummary[]) =>
  CONDITIONS.filter((c) => arms.some((a) => a.condition === c));

/**
 * The arms of a condition in drawing order: regularised full first, LoRA next, the plain full reference last, so the
 * reference line is drawn on top and never hidden under another (each line also has its own colour and markers).
 */
function drawOrder(arms: readonly ArmSummary[], condition: Condition): ArmSummary[] {
  const mine = arms.filter((a) => a.condition === condition);
  const ref = referenceOf(arms, condition);
  const rank = (a: ArmSummary) => (a === ref ? 2 : a.arm.method === 'lora' ? 1 : 0);
  return [...mine].sort((x, y) => rank(x) - rank(y));
}

const label = (a: ArmSummary) => `${a.arm.name} (lr ${a.lr})`;

function svgOrNote(panels: ChartSpec[], columns: number): string {
  const usable = panels.filter((p) => p.series.some((s) => s.points.length > 0));
  if (usable.length === 0) return '';
  return renderPanels(usable, columns, 460, 320);
}

/**
 * The paper's frontier (Figure 3/4): per condition, learning (base target loss − target loss, up = more) against
 * forgetting (source bits per byte − the base's, right = more), one line per arm through its evaluation points from
 * the base (0, 0), each arm at its chosen learning rate with its seeds averaged.
 */
export function learnForgetSvg(arms: readonly ArmSummary[]): string {
  const colors = armColors(arms);
  const panels: ChartSpec[] = conditionsOf(arms).map((c) => ({
    title: `Learning vs forgetting, ${CONDITION_TITLE[c]}`,
    xLabel: 'forgetting: Δ source bits per byte (right = more)',
    yLabel: 'learning: Δ target loss, nats (up = more)',
    legend: true,
    series: drawOrder(arms, c).map((a) => ({
      label: label(a),
      color: colors.get(a.arm.name)!,
      dashed: a.arm.method === 'full' && a !== referenceOf(arms, c),
      markers: true,
      points: trajectory(a.evals).map((p) => [p.forgetting, p.learning] as [number, number]),
    })),
  }));
  return svgOrNote(panels, 2);
}

/** Learning curves: held-out target loss at each evaluation point, per condition, one line per arm. */
export function learningCurvesSvg(arms: readonly ArmSummary[]): string {
  const colors = armColors(arms);
  const panels: ChartSpec[] = conditionsOf(arms).map((c) => ({
    title: `Held-out target loss during training, ${CONDITION_TITLE[c]}`,
    xLabel: 'optimizer step',
    yLabel: 'target loss (nats/token)',
    legend: true,
    series: drawOrder(arms, c).map((a) => ({
      label: label(a),
      color: colors.get(a.arm.name)!,
      dashed: a.arm.method === 'full' && a !== referenceOf(arms, c),
      markers: true,
      points: a.evals
        .filter((e) => e.metrics.target_loss !== undefined)
        .map((e) => [e.step, e.metrics.target_loss!] as [number, number]),
    })),
  }));
  return svgOrNote(panels, 2);
}

/** The lr sweep: final validation loss against learning rate (log10), one line per swept arm, per condition. */
export function sweepSvg(arms: readonly ArmSummary[]): string {
  const colors = armColors(arms);
  const panels: ChartSpec[] = conditionsOf(arms).map((c) => ({
    title: `Learning-rate sweep, ${CONDITION_TITLE[c]}`,
    xLabel: 'log10 learning rate',
    yLabel: 'validation target loss (nats/token)',
    legend: true,
    series: drawOrder(arms, c)
      .filter((a) => a.sweep.length > 1)
      .map((a) => ({
        label: a.arm.name,
        color: colors.get(a.arm.name)!,
        markers: true,
        points: a.sweep
          .filter((p) => Number.isFinite(p.valLoss))
          .map((p) => [Math.log10(p.lr), p.valLoss] as [number, number]),
      })),
  }));
  return svgOrNote(panels, 2);
}

/** Training loss per step, one panel per task (plus the base's pretraining curve when this run made it). */
export function trainingCurvesSvg(results: ExperimentResults, arms: readonly ArmSummary[]): string {
  const colors = armColors(arms);
  const panels: ChartSpec[] = conditionsOf(arms).map((c) => ({
    title: `Training loss (first seed), ${CONDITION_TITLE[c]}`,
    xLabel: 'optimizer step',
    yLabel: 'training loss (nats/token)',
    legend: true,
    series: drawOrder(arms, c).map((a) => ({
      label: label(a),
      color: colors.get(a.arm.name)!,
      dashed: a.arm.method === 'full' && a !== referenceOf(arms, c),
      points: a.units[0]!.curve.map((p) => [p.step, p.loss] as [number, number]),
    })),
  }));
  if (results.base.curve.length > 0) {
    panels.push({
      title: 'Pretraining of the base (source domain)',
      xLabel: 'optimizer step',
      yLabel: 'training loss (nats/token)',
      series: [
        {
          label: 'base',
          color: '#333333',
          points: results.base.curve.map((p) => [p.step, p.loss] as [number, number]),
        },
      ],
    });
  }
  return svgOrNote(panels, 2);
}

/** Arms with a rank analysis, one per method setting: the first condition's (ranks are alike across conditions). */
function ranked(arms: readonly ArmSummary[]): ArmSummary[] {
  const first = conditionsOf(arms)[0];
  return arms.filter((a) => a.condition === first && a.rank && a.rank.matrices.length > 0);
}

/** rank@τ of ΔW by layer (mean over modules) and by module (mean over layers), one line per arm. */
export function rankSvg(all: readonly ArmSummary[]): string {
  const colors = armColors(all);
  const arms = ranked(all);
  if (arms.length === 0) return '';
  const tau = Math.round((arms[0]!.rank!.tau ?? 0.9) * 100);
  const byLayer: ChartSeries[] = arms.map((a) => {
    const layers = [...new Set(a.rank!.matrices.map((m) => m.layer))].sort((x, y) => x - y);
    return {
      label: a.arm.name,
      color: colors.get(a.arm.name)!,
      markers: true,
      points: layers.map((l) => {
        const ms = a.rank!.matrices.filter((m) => m.layer === l);
        return [l, ms.reduce((s, m) => s + m.rank, 0) / ms.length] as [number, number];
      }),
    };
  });
  const byModule: ChartSeries[] = arms.map((a) => ({
    label: a.arm.name,
    color: colors.get(a.arm.name)!,
    markers: true,
    points: MODULE_ORDER.flatMap((mod, i) => {
      const ms = a.rank!.matrices.filter((m) => m.module === mod);
      return ms.length ? [[i + 1, ms.reduce((s, m) => s + m.rank, 0) / ms.length] as [number, number]] : [];
    }),
  }));
  const gaussian = arms.flatMap((a) => a.rank!.matrices.map((m) => m.gaussian_rank ?? 0));
  const gaussianMean = gaussian.length ? gaussian.reduce((s, x) => s + x, 0) / gaussian.length : 0;
  const hLines = gaussian.length ? [{ y: gaussianMean, label: 'Gaussian ΔW' }] : [];
  const top = Math.max(gaussianMean, ...arms.flatMap((a) => a.rank!.matrices.map((m) => m.rank)));
  const yDomain: [number, number] = [0, Math.ceil(top * 1.08)];
  return svgOrNote(
    [
      {
        title: `rank@${tau} of ΔW by layer (mean over modules)`,
        xLabel: 'layer',
        yLabel: `rank@${tau}`,
        legend: true,
        integerX: true,
        series: byLayer,
        hLines,
        yDomain,
      },
      {
        title: `rank@${tau} of ΔW by module (1 q, 2 k, 3 v, 4 o, 5 gate, 6 up, 7 down)`,
        xLabel: 'module',
        yLabel: `rank@${tau}`,
        legend: true,
        integerX: true,
        series: byModule,
        hLines,
        yDomain,
      },
    ],
    2,
  );
}

/** Normalised singular values σ_i/σ_1 of ΔW, averaged over matrices, log scale, one line per arm. */
export function spectraSvg(arms: readonly ArmSummary[]): string {
  const colors = armColors(arms);
  const series: ChartSeries[] = ranked(arms).map((a) => {
    const ms = a.rank!.matrices;
    const len = Math.max(...ms.map((m) => m.spectrum.length));
    const points: [number, number][] = [];
    for (let i = 0; i < len; i++) {
      const vals = ms.map((m) => m.spectrum[i] ?? 0);
      const v = vals.reduce((s, x) => s + x, 0) / vals.length;
      if (v > 1e-6) points.push([i + 1, v]);
    }
    return { label: a.arm.name, color: colors.get(a.arm.name)!, points };
  });
  return svgOrNote(
    [
      {
        title: 'Spectrum of ΔW (σ_i / σ_1, mean over matrices)',
        xLabel: 'index i',
        yLabel: 'σ_i / σ_1',
        logY: true,
        legend: true,
        series,
      },
    ],
    1,
  );
}
