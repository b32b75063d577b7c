import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MetricsWriter, Progress } from './metrics.js';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { stream: { isTTY, write: (s: string) => chunks.push(s) } as unknown as NodeJS.WriteStream, chunks };
}

describe('Progress', () => {
  const record = {
    step: 5,
    tokens: 320,
    loss: 2.5,
    lr: 1e-3,
    grad_norm: 0.75,
    tokens_per_s: 1234.5,
    rss_mb: 200,
  };

  it('prints one plain line per record when stderr is not a terminal', () => {
    const { stream, chunks } = fakeStream(false);
    const p = new Progress(10, stream);
    p.update(record);
    p.update({ step: 5, tokens: 320, 'eval/loss': 2.25 });
    p.end();
    expect(chunks).toEqual([
      'step 5/10  loss 2.5000  lr 1.00e-3  gnorm 0.750  1235 tok/s\n',
      'step 5/10  eval/loss 2.2500\n',
    ]);
  });

  it('redraws a bar in place on a terminal and keeps eval lines', () => {
    const { stream, chunks } = fakeStream(true);
    const p = new Progress(10, stream);
    p.update(record);
    p.update({ ...record, step: 10 });
    p.end();
    expect(chunks[0]).toMatch(/^\r\x1b\[K\[#{12}\.{12}\] step 5\/10/);
    expect(chunks[1]).toMatch(/^\r\x1b\[K\[#{24}\] step 10\/10/);
    expect(chunks.at(-1)).toBe('\n');
  });
});

describe('MetricsWriter', () => {
  it('appends JSON lines and drops the lines after a resumed step (and torn lines)', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'metrics-')), 'metrics.jsonl');
    const w = new MetricsWriter(path);
    for (const step of [1, 2, 3]) await w.write({ step, tokens: step * 10, loss: 1 / step });
    writeFileSync(path, `${readFileSync(path, 'utf8')}{"step":4,"tok`);
    await w.truncateAfter(2);
    expect(readFileSync(path, 'utf8')).toBe(
      '{"step":1,"tokens":10,"loss":1}\n{"step":2,"tokens":20,"loss":0.5}\n',
    );
  });
});
