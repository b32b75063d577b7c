// A minimal SVG line chart (axes, ticks, series, reference lines) for the report plots; no dependencies.

/** One line of a chart: points in data coordinates. */
export interface ChartSeries {
  label: string;
  color: string;
  points: [number, number][];
  dashed?: boolean;
  /** Draw a marker at each point (for sparse series such as rank by layer). */
  markers?: boolean;
}

/** One chart panel. */
export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  /** Logarithmic y axis (non-positive values are dropped). */
  logY?: boolean;
  /** Horizontal reference lines, e.g. the 90% line. */
  hLines?: { y: number; label: string }[];
  /** Fixed y range; otherwise from the data. */
  yDomain?: [number, number];
  /** Show a legend (off for panels with one line per layer). */
  legend?: boolean;
  /** Only integer ticks on the x axis (layers, ranks). */
  integerX?: boolean;
}

const FONT = 'font-family="Helvetica, Arial, sans-serif"';

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About `count` round tick values covering [lo, hi] (1, 2, 5 × 10^k steps). */
export function niceTicks(lo: number, hi: number, count = 5, minStep = 0): number[] {
  if (!(hi > lo)) return [lo];
  const raw = Math.max((hi - lo) / count, minStep);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    out.push(Number(t.toPrecision(12)));
  return out;
}

function fmt(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-3) return x.toExponential(0);
  return String(Number(x.toPrecision(4)));
}

/** The SVG markup of one panel at (x, y) of size w × h, as a `<g>` element. */
export function renderChart(spec: ChartSpec, x: number, y: number, w: number, h: number): string {
  const left = 64;
  const right = spec.legend ? 180 : 16;
  const top = 28;
  const bottom = 44;
  const pw = w - left - right;
  const ph = h - top - bottom;
  const tr = (v: number) => (spec.logY ? Math.log10(v) : v);
  const pts = spec.series.flatMap((s) => s.points).filter(([, v]) => !spec.logY || v > 0);
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = spec.yDomain ?? [
    Math.min(...pts.map((p) => tr(p[1]))),
    Math.max(...pts.map((p) => tr(p[1]))),
  ];
  if (spec.yDomain && spec.logY) [y0, y1] = [Math.log10(spec.yDomain[0]), Math.log10(spec.yDomain[1])];
  if (!Number.isFinite(x0)) [x0, x1] = [0, 1];
  if (!Number.isFinite(y0)) [y0, y1] = [0, 1];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
  if (!spec.logY && !spec.yDomain) {
    const pad = (y1 - y0) * 0.05;
    y0 = Math.min(y0, 0) === 0 && y0 >= 0 ? 0 : y0 - pad;
    y1 += pad;
  }
  const sx = (v: number) => left + ((v - x0) / (x1 - x0)) * pw;
  const sy = (v: number) => top + ph - ((tr(v) - y0) / (y1 - y0)) * ph;
  const parts: string[] = [`<g transform="translate(${x},${y})">`];
  parts.push(
    `<text x="${left + pw / 2}" y="18" text-anchor="middle" font-size="13" ${FONT}>${escapeXml(spec.title)}</text>`,
  );
  parts.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
  // ticks
  for (const t of niceTicks(x0, x1, 6, spec.integerX ? 1 : 0)) {
    const px = sx(t).toFixed(1);
    parts.push(`<line x1="${px}" x2="${px}" y1="${top + ph}" y2="${top + ph + 4}" stroke="#444"/>`);
    parts.push(
      `<text x="${px}" y="${top + ph + 16}" text-anchor="middle" font-size="10" ${FONT}>${fmt(t)}</text>`,
    );
  }
  const yTicks = spec.logY
    ? Array.from({ length: Math.floor(y1) - Math.ceil(y0) + 1 }, (_, i) => 10 ** (Math.ceil(y0) + i))
    : niceTicks(y0, y1, 5);
  for (const t of yTicks) {
    const py = sy(t).toFixed(1);
    parts.push(`<line x1="${left - 4}" x2="${left + pw}" y1="${py}" y2="${py}" stroke="#ddd"/>`);
    parts.push(
      `<text x="${left - 6}" y="${py}" dy="3" text-anchor="end" font-size="10" ${FONT}>${fmt(t)}</text>`,
    );
  }
  parts.push(
    `<text x="${left + pw / 2}" y="${h - 8}" text-anchor="middle" font-size="11" ${FONT}>${escapeXml(spec.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(14,${top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="11" ${FONT}>${escapeXml(spec.yLabel)}</text>`,
  );
  for (const line of spec.hLines ?? []) {
    const py = sy(line.y).toFixed(1);
    parts.push(
      `<line x1="${left}" x2="${left + pw}" y1="${py}" y2="${py}" stroke="#c00" stroke-dasharray="5,3"/>`,
    );
    parts.push(
      `<text x="${left + pw - 4}" y="${py}" dy="-3" text-anchor="end" font-size="10" fill="#c00" ${FONT}>${escapeXml(line.label)}</text>`,
    );
  }
  for (const s of spec.series) {
    const p = s.points.filter(([, v]) => !spec.logY || v > 0);
    if (p.length === 0) continue;
    const d = p.map(([a, b], i) => `${i ? 'L' : 'M'}${sx(a).toFixed(1)},${sy(b).toFixed(1)}`).join('');
    const dash = s.dashed ? ' stroke-dasharray="4,3"' : '';
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"${dash}><title>${escapeXml(s.label)}</title></path>`,
    );
    if (s.markers) {
      for (const [a, b] of p)
        parts.push(`<circle cx="${sx(a).toFixed(1)}" cy="${sy(b).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    }
  }
  if (spec.legend) {
    spec.series.forEach((s, i) => {
      const ly = top + 8 + i * 15;
      const dash = s.dashed ? ' stroke-dasharray="4,3"' : '';
      parts.push(
        `<line x1="${left + pw + 10}" x2="${left + pw + 28}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      );
      parts.push(
        `<text x="${left + pw + 32}" y="${ly}" dy="3" font-size="10" ${FONT}>${escapeXml(s.label)}</text>`,
      );
    });
  }
  parts.push('</g>');
  return parts.join('\n');
}

/** Lays panels out in a grid and wraps them in one SVG document. */
export function renderPanels(
  panels: ChartSpec[],
  columns: number,
  panelWidth = 420,
  panelHeight = 300,
): string {
  const rows = Math.ceil(panels.length / columns);
  const width = Math.min(columns, panels.length) * panelWidth;
  const height = rows * panelHeight;
  const body = panels.map((p, i) =>
    renderChart(
      p,
      (i % columns) * panelWidth,
      Math.floor(i / columns) * panelHeight,
      panelWidth,
      panelHeight,
    ),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">`,
    // The document's accessible name: the panels' titles.
    `<title>${escapeXml(panels.map((p) => p.title).join('; '))}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
