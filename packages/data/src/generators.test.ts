import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { generateMathProblems, mathSplitOf } from './gsm8k-generator.js';
import {
  CODE_LEVELS,
  codeProblemCount,
  codeTaskProgram,
  generateCodeCorpus,
  generateCodeTasks,
  pythonLiteral,
} from './humaneval-generator.js';

const hasPython = (() => {
  try {
    execFileSync('python3', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

describe('GSM8K-style math generator', () => {
  it('writes GSM8K answers whose calculator annotations are right and that end in #### N', () => {
    const problems = [...generateMathProblems({ split: 'train', count: 300, seed: 3 })];
    expect(problems).toHaveLength(300);
    const steps = new Set<number>();
    for (const { question, answer } of problems) {
      expect(Object.keys({ question, answer })).toEqual(['question', 'answer']);
      const lines = answer.split('\n');
      const last = lines.pop()!;
      expect(last).toMatch(/^#### -?\d+$/);
      steps.add(lines.length);
      let result = Number.NaN;
      for (const line of lines) {
        const m = /<<([\d+\-*/.]+)=(-?[\d.]+)>>(-?[\d.]+)/.exec(line);
        expect(m, line).not.toBeNull();
        const [, expr, annotated, shown] = m!;
        // biome-ignore lint/security/noGlobalEval: evaluates a generated arithmetic expression of digits and + - * /
        const value = eval(expr!);
        expect(value).toBe(Number(annotated));
        expect(shown).toBe(annotated);
        result = value;
      }
      expect(last).toBe(`#### ${result}`);
      expect(Number.isInteger(result)).toBe(true);
    }
    expect([...steps].sort()).toEqual([1, 2, 3]);
  });

  it('writes one-step problems on one-digit numbers at the easy level, in the same format, splits disjoint', () => {
    const train = [...generateMathProblems({ split: 'train', count: 2000, level: 'easy' })];
    const test = [...generateMathProblems({ split: 'test', count: 200, level: 'easy' })];
    const ops = new Set<string>();
    for (const { question, answer } of [...train, ...test]) {
      const m = /^[^\n]* (\d)([+\-*])(\d) = <<\1\2\3=(\d+)>>\4 [^\n]*\n#### \4$/.exec(answer);
      expect(m, answer).not.toBeNull();
      const [, a, op, b, r] = m!;
      // biome-ignore lint/security/noGlobalEval: evaluates a generated arithmetic expression of digits and + - *
      expect(eval(`${a}${op}${b}`)).toBe(Number(r));
      expect(question).toContain(op === '*' && a === '2' && question.includes('twice') ? b! : a!);
      ops.add(op!);
    }
    expect([...ops].sort()).toEqual(['*', '+', '-']);
    const trainQuestions = new Set(train.map((p) => p.question));
    expect(test.filter((p) => trainQuestions.has(p.question))).toEqual([]);
    expect(test.every((p) => mathSplitOf(p.question) === 'test')).toBe(true);
    expect(() => [...generateMathProblems({ split: 'train', count: 1, level: 'hard' as 'easy' })]).toThrow(
      /level/,
    );
  });

  it('is deterministic in its seed', () => {
    const a = [...generateMathProblems({ split: 'train', count: 20, seed: 1 })];
    expect([...generateMathProblems({ split: 'train', count: 20, seed: 1 })]).toEqual(a);
    expect([...generateMathProblems({ split: 'train', count: 20, seed: 2 })]).not.toEqual(a);
  });

  it('never puts a question in both splits, whatever the seeds', () => {
    const train = new Set(
      [0, 1].flatMap((seed) =>
        [...generateMathProblems({ split: 'train', count: 3000, seed })].map((p) => p.question),
      ),
    );
    const test = [0, 1].flatMap((seed) =>
      [...generateMathProblems({ split: 'test', count: 300, seed })].map((p) => p.question),
    );
    expect(test.filter((q) => train.has(q))).toEqual([]);
    expect(test.every((q) => mathSplitOf(q) === 'test')).toBe(true);
    // The check can fail: the train stream, unfiltered, would contain test questions.
    expect([...train].every((q) => mathSplitOf(q) === 'train')).toBe(true);
  });
});

describe('HumanEval-style code generator', () => {
  it('writes records in the HumanEval schema', () => {
    const [t] = [...generateCodeTasks({ split: 'test', count: 1, seed: 0 })];
    expect(Object.keys(t!)).toEqual(['task_id', 'prompt', 'canonical_solution', 'test', 'entry_point']);
    expect(t!.task_id).toBe('Generated/test/0');
    expect(t!.prompt).toContain(`def ${t!.entry_point}(`);
    expect(t!.prompt).toMatch(/"""[\s\S]*>>> [\s\S]*"""\n$/);
    expect(t!.test).toMatch(/def check\(candidate\):\n( {4}assert candidate\(.*\) == .*\n)+$/);
  });

  it('keeps train and test problems disjoint and refuses more problems than a split holds', () => {
    const nTrain = codeProblemCount('train');
    const nTest = codeProblemCount('test');
    expect(nTest).toBeGreaterThan(20);
    const key = (p: { prompt: string } | string) =>
      (typeof p === 'string' ? p : p.prompt).match(/def (\w+)/)![1]!;
    const train = new Set([...generateCodeTasks({ split: 'train', count: nTrain, seed: 5 })].map(key));
    const test = [...generateCodeTasks({ split: 'test', count: nTest, seed: 9 })].map(key);
    expect(train.size).toBe(nTrain);
    expect(new Set(test).size).toBe(nTest);
    expect(test.filter((k) => train.has(k))).toEqual([]);
    const corpus = [...generateCodeCorpus({ count: 300, seed: 2 })].map(key);
    expect(corpus.filter((k) => !train.has(k))).toEqual([]);
    expect(() => [...generateCodeTasks({ split: 'test', count: nTest + 1 })]).toThrow(ConfigError);
  });

  it('formats Python literals', () => {
    expect(pythonLiteral([1, -2, [true, false]])).toBe('[1, -2, [True, False]]');
    expect(pythonLiteral("it's \\")).toBe("'it\\'s \\\\'");
  });

  it('writes one-line bodies that name a defaulted k at the easy level, splits disjoint by (function, default)', () => {
    const level = 'easy';
    const nTrain = codeProblemCount('train', 0.1, level);
    const nTest = codeProblemCount('test', 0.1, level);
    expect(nTest).toBeGreaterThanOrEqual(32);
    const key = (p: { prompt: string } | string) => {
      const m = (typeof p === 'string' ? p : p.prompt).match(/def (\w+)\(xs: List\[int\], k: int = (\d+)\)/)!;
      return `${m[1]}=${m[2]}`;
    };
    const train = [...generateCodeTasks({ split: 'train', count: nTrain, seed: 3, level })];
    const test = [...generateCodeTasks({ split: 'test', count: nTest, seed: 4, level })];
    const trainKeys = new Set(train.map(key));
    expect(trainKeys.size).toBe(nTrain);
    expect(new Set(test.map(key)).size).toBe(nTest);
    expect(test.map(key).filter((k) => trainKeys.has(k))).toEqual([]);
    const bodies = new Map<string, Set<string>>();
    for (const t of [...train, ...test]) {
      expect(t.canonical_solution).toMatch(/^ {4}return [^\n]*\bk\b[^\n]*\n$/);
      bodies.set(t.entry_point, (bodies.get(t.entry_point) ?? new Set()).add(t.canonical_solution));
      // Tests call the function with its default and with other values of k.
      expect(t.test).toMatch(/assert candidate\(\[[^\]]*\]\) ==/);
      expect(t.test).toMatch(/assert candidate\(\[[^\]]*\], \d+\) ==/);
    }
    // One body per function, whatever its default: the number is never restated.
    expect(bodies.size).toBe(14);
    expect([...bodies.values()].every((b) => b.size === 1)).toBe(true);
    const corpus = [...generateCodeCorpus({ count: 300, seed: 2, level })].map(key);
    expect(corpus.filter((k) => !trainKeys.has(k))).toEqual([]);
    expect(() => [...generateCodeTasks({ split: 'test', count: 1, level: 'hard' as 'easy' })]).toThrow(
      /level/,
    );
  });

  it.skipIf(!hasPython).each(CODE_LEVELS)(
    'every canonical solution passes its own test under python3, and an empty body fails (%s)',
    (level) => {
      const tasks = [
        ...generateCodeTasks({
          split: 'train',
          count: codeProblemCount('train', 0.1, level),
          seed: 1,
          level,
        }),
        ...generateCodeTasks({ split: 'test', count: codeProblemCount('test', 0.1, level), seed: 1, level }),
      ];
      const dir = mkdtempSync(join(tmpdir(), 'loralab-code-'));
      // One script runs every task in its own namespace and prints the ids of failures.
      const script = [
        'import json, sys',
        'tasks = json.load(open(sys.argv[1]))',
        'bad = []',
        'for t in tasks:',
        '    try:',
        '        exec(t["program"], {})',
        '    except Exception as e:',
        '        bad.append(t["task_id"])',
        'print(json.dumps(bad))',
      ].join('\n');
      writeFileSync(join(dir, 'run.py'), script);
      const run = (programs: Array<{ task_id: string; program: string }>) => {
        writeFileSync(join(dir, 'tasks.json'), JSON.stringify(programs));
        return JSON.parse(
          execFileSync('python3', [join(dir, 'run.py'), join(dir, 'tasks.json')], { encoding: 'utf8' }),
        );
      };
      expect(run(tasks.map((t) => ({ task_id: t.task_id, program: codeTaskProgram(t) })))).toEqual([]);
      const broken = (body: (t: (typeof tasks)[number]) => string) =>
        tasks.map((t) => ({
          task_id: t.task_id,
          program: codeTaskProgram({ ...t, canonical_solution: body(t) }),
        }));
      expect(run(broken(() => '    return None\n'))).toHaveLength(tasks.length);
      if (level === 'easy') {
        // A body that restates the default's number instead of naming k fails: the tests pass other values of k.
        const restated = broken((t) =>
          t.canonical_solution.replace(/\bk\b/g, t.prompt.match(/k: int = (\d+)/)![1]!),
        );
        expect(run(restated)).toHaveLength(tasks.length);
      }
    },
  );
});
