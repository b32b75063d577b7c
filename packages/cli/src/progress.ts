// Progress on long work: a redrawn bar on a terminal, plain throttled lines otherwise, and a summary at the end.
// Implements the experiment's Reporter interface (log, progress, done), which every command also uses.

/** What long-running work reports to (the same shape as the experiment's `Reporter`). */
export interface Reporter {
  log(line: string): void;
  progress(label: string, done: number, total: number | null): void;
  done?(label: string): void;
}

/** Where the reporter writes: a stream-like sink; `columns` is the terminal width when known. */
export interface ReporterSink {
  write(text: string): unknown;
  columns?: number;
}

export interface ProgressReporterOptions {
  /** Redraw one bar in place (a terminal) or print plain lines (a pipe, a log file, CI). */
  tty: boolean;
  /** Print log lines and the summary only, no progress. Default false. */
  quiet?: boolean;
  /** Clock in milliseconds (tests pass a fake one). Default `performance.now`. */
  now?: () => number;
  /** Plain mode: a progress line at most this often per label, besides every 10% step and the end. Default 10 s. */
  plainIntervalMs?: number;
  /** TTY mode: redraw at most this often. Default 100 ms. */
  redrawIntervalMs?: number;
}

interface Task {
  label: string;
  start: number;
  done: number;
  total: number | null;
  lastPrint: number;
  lastDecile: number;
  finished: number | null;
}

/** Seconds as `12.3 s`, `4:05` or `1:02:03`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A count as `950`, `12.3k`, `4.56M`. */
export function formatCount(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/** A rate with three significant figures: `5.00`, `12.5`, `250`, `12.3k`. */
export function formatRate(x: number): string {
  if (x >= 1e4) return formatCount(x);
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

export class ProgressReporter implements Reporter {
  private readonly sink: ReporterSink;
  private readonly tty: boolean;
  private readonly quiet: boolean;
  private readonly now: () => number;
  private readonly plainInterval: number;
  private readonly redrawInterval: number;
  private readonly tasks = new Map<string, Task>();
  private readonly started: number;
  /** The label whose bar is on screen (TTY), or null. */
  private barShown: string | null = null;
  private lastDraw = -Infinity;

  constructor(sink: ReporterSink, options: ProgressReporterOptions) {
    this.sink = sink;
    this.tty = options.tty;
    this.quiet = options.quiet ?? false;
    this.now = options.now ?? (() => performance.now());
    this.plainInterval = options.plainIntervalMs ?? 10_000;
    this.redrawInterval = options.redrawIntervalMs ?? 100;
    this.started = this.now();
  }

  log(line: string): void {
    this.clearBar();
    this.sink.write(`${line}\n`);
    this.redraw(true);
  }

  progress(label: string, done: number, total: number | null): void {
    const t = this.now();
    let task = this.tasks.get(label);
    if (!task || task.finished !== null) {
      task = { label, start: t, done: 0, total, lastPrint: -Infinity, lastDecile: -1, finished: null };
      this.tasks.set(label, task);
    }
    task.done = done;
    task.total = total;
    if (this.quiet) return;
    if (this.tty) {
      this.barShown = label;
      this.redraw(total !== null && done >= total);
      return;
    }
    const decile = total ? Math.floor((10 * done) / total) : -1;
    const end = total !== null && done >= total;
    if (end || decile > task.lastDecile || t - task.lastPrint >= this.plainInterval) {
      task.lastPrint = t;
      task.lastDecile = decile;
      this.sink.write(`${this.statusText(task, t)}\n`);
    }
  }

  done(label: string): void {
    const t = this.now();
    const task = this.tasks.get(label) ?? {
      label,
      start: t,
      done: 0,
      total: null,
      lastPrint: t,
      lastDecile: -1,
      finished: null,
    };
    task.finished = t;
    this.tasks.set(label, task);
    if (this.barShown === label) {
      this.clearBar();
      this.barShown = null;
    }
    if (!this.quiet) this.sink.write(`done: ${label} (${formatDuration((t - task.start) / 1000)})\n`);
    this.redraw(true);
  }

  /** The closing lines: each finished task with its time, then the total wall time. */
  summary(title = 'summary'): string {
    const t = this.now();
    const rows = [...this.tasks.values()].filter((x) => x.finished !== null);
    const width = Math.max(0, ...rows.map((r) => r.label.length));
    const lines = rows.map(
      (r) => `  ${r.label.padEnd(width)}  ${formatDuration(((r.finished ?? t) - r.start) / 1000)}`,
    );
    return [`${title}: ${formatDuration((t - this.started) / 1000)} in all`, ...lines].join('\n');
  }

  /** Removes the bar from the screen (before the process exits or prints something else). */
  clearBar(): void {
    if (this.tty && this.barShown !== null) this.sink.write('\r\x1b[2K');
  }

  private redraw(force: boolean): void {
    if (!this.tty || this.quiet || this.barShown === null) return;
    const task = this.tasks.get(this.barShown);
    if (!task || task.finished !== null) return;
    const t = this.now();
    if (!force && t - this.lastDraw < this.redrawInterval) return;
    this.lastDraw = t;
    // A pty may report 0 columns; keep the bar's width fixed while it runs (the status text varies).
    const width = Math.max(40, (this.sink.columns || 80) - 1);
    const status = this.statusText(task, t);
    let line = status;
    if (task.total) {
      const barWidth = Math.max(10, Math.min(30, width - task.label.length - 48));
      const filled = Math.round((barWidth * Math.min(task.done, task.total)) / task.total);
      line = `${task.label} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]${status.slice(task.label.length)}`;
    }
    this.sink.write(`\r\x1b[2K${line.slice(0, width)}`);
  }

  /** `label 45/100 (45%) 12.3/s, 0:04 left` or, without a total, `label 45 12.3/s`. */
  private statusText(task: Task, t: number): string {
    const elapsed = (t - task.start) / 1000;
    const rate = elapsed > 0 ? task.done / elapsed : 0;
    const rateText = elapsed > 0.5 && task.done > 0 ? ` ${formatRate(rate)}/s` : '';
    if (task.total === null) return `${task.label} ${formatCount(task.done)}${rateText}`;
    const pct = task.total > 0 ? Math.floor((100 * task.done) / task.total) : 100;
    const left =
      rate > 0 && task.done < task.total ? `, ${formatDuration((task.total - task.done) / rate)} left` : '';
    return `${task.label} ${formatCount(task.done)}/${formatCount(task.total)} (${pct}%)${rateText}${left}`;
  }
}
