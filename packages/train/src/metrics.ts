// metrics.jsonl (one JSON object per log or eval event) and the console progress: a redrawn bar on a terminal,
// plain lines otherwise.
import { existsSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '@loralab/model';

/**
 * One line of metrics.jsonl. Training lines carry loss (mean over the steps since the last line), grad_norm (before
 * clipping, of the last step), lr, tokens_per_s (over step time), rss_mb (process resident memory), tensor_mb (bytes
 * of live tfjs tensors); eval lines carry `eval/<key>` values. `tokens`: real tokens seen so far.
 */
export interface MetricsRecord {
  step: number;
  tokens: number;
  [key: string]: number;
}

export const METRICS_NAME = 'metrics.jsonl';

export class MetricsWriter {
  constructor(readonly path: string) {}

  /** Drops lines of steps after `step` (a resumed run rewrites them), atomically. */
  async truncateAfter(step: number): Promise<void> {
    if (!existsSync(this.path)) return;
    const lines = (await readFile(this.path, 'utf8')).split('\n').filter((l) => l.trim() !== '');
    const kept = lines.filter((l) => {
      try {
        return (JSON.parse(l) as MetricsRecord).step <= step;
      } catch {
        return false; // a line torn by a crash
      }
    });
    await writeFileAtomic(this.path, kept.map((l) => `${l}\n`).join(''));
  }

  async write(record: MetricsRecord): Promise<void> {
    await appendFile(this.path, `${JSON.stringify(record)}\n`);
  }
}

function fmt(x: number | undefined, digits = 4): string {
  if (x === undefined) return '-';
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5)) return x.toExponential(2);
  return x.toFixed(digits);
}

/** Console progress on stderr: a bar redrawn in place on a TTY, one line per record otherwise. */
export class Progress {
  private readonly tty: boolean;
  private drawn = false;

  constructor(
    private readonly totalSteps: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = stream.isTTY === true;
  }

  private line(r: MetricsRecord): string {
    const evals = Object.entries(r)
      .filter(([k]) => k.startsWith('eval/'))
      .map(([k, v]) => `${k} ${fmt(v)}`);
    const parts = [`step ${r.step}/${this.totalSteps}`];
    if (r.loss !== undefined)
      parts.push(
        `loss ${fmt(r.loss)}`,
        `lr ${(r.lr ?? 0).toExponential(2)}`,
        `gnorm ${fmt(r.grad_norm, 3)}`,
        `${Math.round(r.tokens_per_s ?? 0)} tok/s`,
      );
    return [...parts, ...evals].join('  ');
  }

  update(r: MetricsRecord): void {
    if (!this.tty) {
      this.stream.write(`${this.line(r)}\n`);
      return;
    }
    const width = 24;
    const done = Math.min(width, Math.round((width * r.step) / Math.max(1, this.totalSteps)));
    const bar = `[${'#'.repeat(done)}${'.'.repeat(width - done)}]`;
    if (Object.keys(r).some((k) => k.startsWith('eval/'))) {
      // Eval results stay on screen: print them on their own line above the bar.
      this.stream.write(`\r\x1b[K${this.line(r)}\n`);
      this.drawn = false;
      return;
    }
    this.stream.write(`\r\x1b[K${bar} ${this.line(r)}`);
    this.drawn = true;
  }

  end(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
