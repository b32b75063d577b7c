// The report's plots as inline SVG (drawn with @loralab/rank's dependency-free chart renderer): learning vs
// forgetting per arm (the paper's Figure 3), training curves, rank@90 by layer and by module, ΔW spectra.
import { type ChartSeries, type ChartSpec, renderPanels } from '@loralab/rank';
import type { ArmResult, ExperimentResults } from '../experiment/results.js';

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

/** A stable colour per arm: full-finetuning arms warm, LoRA arms cool, in config order. */
export function armColors(results: ExperimentResults): Map<string, string> {
  return new Map(results.arms.map((a, i) => [a.arm.name, PALETTE[i % PALETTE.length]!]));
}

const TASK_TITLE = { ift: 'IFT on math', cpt: 'CPT on code' } as const;
export const MODULE_ORDER = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

function tasksOf(results: ExperimentResults): ('ift' | 'cpt')[] {
  return (['ift', 'cpt'] as const).filter((t) => results.arms.some((a) => a.arm.task === t));
}

const targetLossKey = (t: 'ift' | 'cpt') => (t === 'ift' ? 'math_loss' : 'code_loss');

function svgOrNote(panels: ChartSpec[], columns: number): string {
  const usable = panels.filter((p) => p.series.some((s) => s.points.length > 0));
  if (usable.length === 0) return '';
  return renderPanels(usable, columns, 460, 320);
}

/**
 * Figure 3 of the paper: per task, target-domain loss (learning: lower is better) against source-domain bits per
 * byte (forgetting: lower is better), one line per arm through its evaluation points from the base (step 0).
 */
export function learnForgetSvg(results: ExperimentResults): string {
  const colors = armColors(results);
  const panels: ChartSpec[] = tasksOf(results).map((task) => ({
    title: `Learning vs forgetting, ${TASK_TITLE[task]}`,
    xLabel: 'held-out source bits per byte (right = more forgetting)',
    yLabel: `held-out ${task === 'ift' ? 'math' : 'code'} loss (down = more learning)`,
    legend: true,
    series: results.arms
      .filter((a) => a.arm.task === task)
      .map((a) => ({
        label: a.arm.name,
        color: colors.get(a.arm.name)!,
        dashed: a.arm.method === 'full' && (a.arm.weightDecay !== null || a.arm.dropout > 0),
        markers: true,
        points: a.evals
          .filter((e) => e.metrics.source_bpb !== undefined && e.metrics[targetLossKey(task)] !== undefined)
          .map((e) => [e.metrics.source_bpb!, e.metrics[targetLossKey(task)]!] as [number, number]),
      })),
  }));
  return svgOrNote(panels, 2);
}

/** Training loss per step, one panel per task (plus the base's pretraining curve when this run made it). */
export function trainingCurvesSvg(results: ExperimentResults): string {
  const colors = armColors(results);
  const panels: ChartSpec[] = tasksOf(results).map((task) => ({
    title: `Training loss, ${TASK_TITLE[task]}`,
    xLabel: 'optimizer step',
    yLabel: 'training loss (nats/token)',
    legend: true,
    series: results.arms
      .filter((a) => a.arm.task === task)
      .map((a) => ({
        label: a.arm.name,
        color: colors.get(a.arm.name)!,
        points: a.curve.map((p) => [p.step, p.loss] as [number, number]),
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

function ranked(results: ExperimentResults): ArmResult[] {
  return results.arms.filter((a) => a.rank && a.rank.matrices.length > 0);
}

/** rank@τ of ΔW by layer (mean over modules) and by module (mean over layers), one line per arm. */
export function rankSvg(results: ExperimentResults): string {
  const colors = armColors(results);
  const arms = ranked(results);
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
export function spectraSvg(results: ExperimentResults): string {
  const colors = armColors(results);
  const series: ChartSeries[] = ranked(results).map((a) => {
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
