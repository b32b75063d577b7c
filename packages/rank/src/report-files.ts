// Writes an AnalysisReport as files: report.json, spectra.json, report.csv and three SVG plots in the
// style of Biderman et al. 2024 Figure 6 (rank@τ of ΔW by layer per module, spectra, explained variance).
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { AnalysisReport, MatrixAnalysis } from './analyse.js';
import { explainedVariance } from './spectrum-metrics.js';
import { type ChartSeries, type ChartSpec, renderPanels } from './svg-chart.js';

/** Version of the report.json / spectra.json layout. */
export const REPORT_FORMAT_VERSION = 1;

/** Module colours (Tableau 10), fixed so that plots of different runs agree. */
export const MODULE_COLORS: Record<string, string> = {
  q_proj: '#4e79a7',
  k_proj: '#f28e2b',
  v_proj: '#e15759',
  o_proj: '#76b7b2',
  gate_proj: '#59a14f',
  up_proj: '#edc948',
  down_proj: '#b07aa1',
};
const EXTRA_COLORS = ['#ff9da7', '#9c755f', '#bab0ac'];

function moduleColor(module: string, i: number): string {
  return MODULE_COLORS[module] ?? EXTRA_COLORS[i % EXTRA_COLORS.length]!;
}

/** Writes `text` to `path` so that a crash leaves either the old file or the new one: temp file, fsync, rename. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** report.json: the config and every metric, without the spectra (those go to spectra.json). */
export function reportJson(report: AnalysisReport): string {
  const matrices = report.matrices.map(({ spectra: _spectra, ...rest }) => rest);
  return `${JSON.stringify({ format: 'loralab-rank-report', version: REPORT_FORMAT_VERSION, kind: report.kind, svd: report.svd, config: report.config, matrices }, null, 2)}\n`;
}

/** spectra.json: { name: { base, finetuned, delta } } with the singular values, descending. */
export function spectraJson(report: AnalysisReport): string {
  const spectra = Object.fromEntries(report.matrices.map((m) => [m.name, m.spectra]));
  return `${JSON.stringify({ format: 'loralab-rank-spectra', version: REPORT_FORMAT_VERSION, spectra })}\n`;
}

const METRIC_COLUMNS = [
  'rank_energy',
  'rank_sigma',
  'effective_rank',
  'stable_rank',
  'spectral_norm',
  'frobenius_norm',
  'numerical_rank',
] as const;

function csvField(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** report.csv: one row per matrix; column names are documented in the README. */
export function reportCsv(report: AnalysisReport): string {
  const scales = report.config.noise_scales;
  const header = [
    'name',
    'layer',
    'module',
    'rows',
    'cols',
    'relative_update_norm',
    ...['delta', 'base', 'finetuned'].flatMap((w) => METRIC_COLUMNS.map((c) => `${w}_${c}`)),
    'gaussian_rank_energy',
    'gaussian_rank_sigma',
    'gaussian_effective_rank',
    'gaussian_stable_rank',
    ...scales.flatMap((c) => [`noise_${c}_rank_energy`, `noise_${c}_effective_rank`]),
    'intruder_count',
    'subspace_similarity',
  ];
  const rows = report.matrices.map((m: MatrixAnalysis) => [
    m.name,
    m.layer,
    m.module,
    m.rows,
    m.cols,
    m.relative_update_norm,
    ...[m.delta, m.base, m.finetuned].flatMap((s) => METRIC_COLUMNS.map((c) => s[c])),
    m.gaussian_baseline?.rank_energy ?? null,
    m.gaussian_baseline?.rank_sigma ?? null,
    m.gaussian_baseline?.effective_rank ?? null,
    m.gaussian_baseline?.stable_rank ?? null,
    ...scales.flatMap((_, j) => [
      m.noise_baselines[j]?.metrics.rank_energy ?? null,
      m.noise_baselines[j]?.metrics.effective_rank ?? null,
    ]),
    m.intruders?.count ?? null,
    m.subspace_similarity,
  ]);
  return `${[header, ...rows].map((r) => r.map(csvField).join(',')).join('\n')}\n`;
}

function modulesOf(report: AnalysisReport): string[] {
  const seen = new Set(report.matrices.map((m) => m.module));
  return report.config.modules.filter((m) => seen.has(m));
}

/** Figure 6 style: rank@τ (energy) of ΔW against layer, one colour per module; dashed: the Gaussian baseline. */
export function rankByLayerSvg(report: AnalysisReport): string {
  const tau = report.config.tau;
  const series: ChartSeries[] = [];
  modulesOf(report).forEach((module, i) => {
    const ms = report.matrices.filter((m) => m.module === module);
    series.push({
      label: module,
      color: moduleColor(module, i),
      markers: true,
      points: ms.map((m) => [m.layer, m.delta.rank_energy]),
    });
    if (ms.some((m) => m.gaussian_baseline)) {
      series.push({
        label: `${module} (Gaussian)`,
        color: moduleColor(module, i),
        dashed: true,
        points: ms.filter((m) => m.gaussian_baseline).map((m) => [m.layer, m.gaussian_baseline!.rank_energy]),
      });
    }
  });
  const pct = Math.round(tau * 100);
  return renderPanels(
    [
      {
        title: `Rank needed to explain ${pct}% of the variance of ΔW`,
        xLabel: 'layer',
        yLabel: `rank@${pct} (energy)`,
        series,
        legend: true,
        integerX: true,
      },
    ],
    1,
    720,
    420,
  );
}

/** Hue from blue (first layer) to red (last). */
function layerColor(layer: number, maxLayer: number): string {
  const t = maxLayer > 0 ? layer / maxLayer : 0;
  return `hsl(${Math.round(230 - 230 * t)}, 70%, 45%)`;
}

function perModulePanels(
  report: AnalysisReport,
  make: (module: string, ms: MatrixAnalysis[], maxLayer: number) => ChartSpec,
): ChartSpec[] {
  const maxLayer = Math.max(0, ...report.matrices.map((m) => m.layer));
  return modulesOf(report).map((module) =>
    make(
      module,
      report.matrices.filter((m) => m.module === module),
      maxLayer,
    ),
  );
}

/** Singular values of ΔW (log scale) per module, one line per layer (blue = first, red = last). */
export function spectraSvg(report: AnalysisReport): string {
  const panels = perModulePanels(report, (module, ms, maxLayer) => ({
    title: `${module}: singular values of ΔW`,
    xLabel: 'index i (one line per layer: blue first, red last)',
    yLabel: 'σ_i',
    integerX: true,
    logY: true,
    series: ms.map((m) => ({
      label: `layer ${m.layer}`,
      color: layerColor(m.layer, maxLayer),
      points: m.spectra.delta.map((v, i) => [i + 1, v] as [number, number]),
    })),
  }));
  return renderPanels(panels, 3);
}

/** Cumulative explained variance of ΔW per module with the τ line, one line per layer. */
export function explainedVarianceSvg(report: AnalysisReport): string {
  const tau = report.config.tau;
  const panels = perModulePanels(report, (module, ms, maxLayer) => ({
    title: `${module}: explained variance of ΔW`,
    xLabel: 'rank r (one line per layer: blue first, red last)',
    yLabel: 'cumulative explained variance',
    integerX: true,
    yDomain: [0, 1],
    hLines: [{ y: tau, label: `${Math.round(tau * 100)}%` }],
    series: ms.map((m) => ({
      label: `layer ${m.layer}`,
      color: layerColor(m.layer, maxLayer),
      points: Array.from(explainedVariance(m.spectra.delta), (v, i) => [i + 1, v] as [number, number]),
    })),
  }));
  return renderPanels(panels, 3);
}

/** The files {@link writeReport} writes, relative to its folder. */
export const REPORT_FILES = [
  'report.json',
  'spectra.json',
  'report.csv',
  'rank-by-layer.svg',
  'spectra.svg',
  'explained-variance.svg',
] as const;

/** Writes every report file into `dir` (created if needed; each file atomically). Returns the paths written. */
export function writeReport(dir: string, report: AnalysisReport): string[] {
  mkdirSync(dir, { recursive: true });
  const contents: Record<(typeof REPORT_FILES)[number], string> = {
    'report.json': reportJson(report),
    'spectra.json': spectraJson(report),
    'report.csv': reportCsv(report),
    'rank-by-layer.svg': rankByLayerSvg(report),
    'spectra.svg': spectraSvg(report),
    'explained-variance.svg': explainedVarianceSvg(report),
  };
  return REPORT_FILES.map((f) => {
    const path = join(dir, f);
    writeFileAtomic(path, contents[f]);
    return path;
  });
}
