import { describe, expect, it } from 'vitest';
import { formatCount, formatDuration, formatRate, ProgressReporter } from './progress.js';

function sink(columns?: number) {
  const out = { text: '', columns, write: (s: string) => (out.text += s) };
  return out;
}

describe('formatDuration and formatCount', () => {
  it('formats seconds and counts', () => {
    expect(formatDuration(3.21)).toBe('3.2 s');
    expect(formatDuration(245)).toBe('4:05');
    expect(formatDuration(3723)).toBe('1:02:03');
    expect(formatDuration(Number.NaN)).toBe('?');
    expect(formatCount(950)).toBe('950');
    expect(formatCount(12_345)).toBe('12.3k');
    expect(formatCount(4_560_000)).toBe('4.56M');
    expect(formatCount(2.5)).toBe('2.50');
    expect([formatRate(5), formatRate(12.46), formatRate(250.4), formatRate(12_345)]).toEqual([
      '5.00',
      '12.5',
      '250',
      '12.3k',
    ]);
  });
});

describe('ProgressReporter, plain lines', () => {
  it('prints at each 10% step, at the end and on a timer, not on every call', () => {
    let t = 0;
    const s = sink();
    const r = new ProgressReporter(s, { tty: false, now: () => t, plainIntervalMs: 10_000 });
    for (let i = 0; i <= 100; i++) {
      t = i * 100;
      r.progress('steps', i, 100);
    }
    const lines = s.text.trim().split('\n');
    expect(lines).toHaveLength(11); // 0%, 10%, ..., 100%
    expect(lines[0]).toBe('steps 0/100 (0%)');
    expect(lines[5]).toBe('steps 50/100 (50%) 10.0/s, 5.0 s left');
    expect(lines[10]).toBe('steps 100/100 (100%) 10.0/s');
    s.text = '';
    t = 0;
    for (let i = 1; i <= 30; i++) {
      t = i * 1000;
      r.progress('tokens', i * 1000, null);
    }
    expect(s.text.trim().split('\n')).toEqual(['tokens 1000', 'tokens 11.0k 1100/s', 'tokens 21.0k 1050/s']);
  });

  it('logs lines, marks tasks done and sums them up', () => {
    let t = 0;
    const s = sink();
    const r = new ProgressReporter(s, { tty: false, now: () => t });
    r.progress('tokenizer', 0, 1);
    t = 1500;
    r.log('hello');
    r.done('tokenizer');
    t = 2000;
    r.progress('training', 0, 10);
    t = 65_000;
    r.done('training');
    expect(s.text).toContain('hello\ndone: tokenizer (1.5 s)\n');
    expect(s.text).toContain('done: training (1:03)\n');
    expect(r.summary()).toBe('summary: 1:05 in all\n  tokenizer  1.5 s\n  training   1:03');
  });

  it('prints nothing but logs when quiet', () => {
    const s = sink();
    const r = new ProgressReporter(s, { tty: false, quiet: true, now: () => 0 });
    r.progress('x', 1, 2);
    r.done('x');
    r.log('kept');
    expect(s.text).toBe('kept\n');
  });
});

describe('ProgressReporter, terminal', () => {
  it('keeps the whole line on a terminal that reports 0 columns', () => {
    let t = 0;
    const s = sink(0);
    const r = new ProgressReporter(s, { tty: true, now: () => t });
    r.progress('training', 0, 30);
    t = 3500;
    r.progress('training', 30, 30);
    expect(s.text.split('\r\x1b[2K').at(-1)).toBe(`training [${'#'.repeat(23)}] 30/30 (100%) 8.57/s`);
  });

  it('redraws one bar in place, throttled, and clears it for log lines', () => {
    let t = 0;
    const s = sink(80);
    const r = new ProgressReporter(s, { tty: true, now: () => t, redrawIntervalMs: 100 });
    r.progress('training', 0, 10);
    t = 50;
    r.progress('training', 1, 10); // within 100 ms: not drawn
    t = 1000;
    r.progress('training', 5, 10);
    const draws = s.text.split('\r\x1b[2K').filter(Boolean);
    expect(draws).toHaveLength(2);
    expect(draws[1]).toBe(`training [${'#'.repeat(12)}${'.'.repeat(11)}] 5/10 (50%) 5.00/s, 1.0 s left`);
    s.text = '';
    r.log('step 5 loss 1.0');
    expect(s.text.startsWith('\r\x1b[2Kstep 5 loss 1.0\n\r\x1b[2Ktraining [')).toBe(true);
    s.text = '';
    t = 2000;
    r.done('training');
    expect(s.text).toBe('\r\x1b[2Kdone: training (2.0 s)\n');
  });
});
