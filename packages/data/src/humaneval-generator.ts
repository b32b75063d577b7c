// A seeded generator of HumanEval-style Python tasks (Chen et al., 2021, arXiv 2107.03374) in the HumanEval
// schema, over a family of small function templates, and a Python code corpus drawn from the same family.
// A problem is a template with its semantic parameters; its split is fixed by a hash of that key, so train and
// test never share a problem (only the surface, such as docstring examples, varies between draws).
import { ConfigError } from './errors.js';
import { createRng, hashString, mixSeed, permutation, randInt } from './prng.js';

/** One HumanEval record. */
export interface HumanEvalRecord {
  task_id: string;
  prompt: string;
  canonical_solution: string;
  test: string;
  entry_point: string;
}

export interface CodeGeneratorConfig {
  /** Which split to generate. */
  split: 'train' | 'test';
  /** How many distinct problems to generate; more than the split holds raises (see `codeProblemCount`). */
  count: number;
  /** Seed of the problem order and of the docstring and test examples. Default 0. */
  seed?: number;
  /** Share of problems in the test split, in (0, 1). Default 0.1. */
  testFraction?: number;
}

type Py = number | string | boolean | Py[];
type Params = Record<string, number | string>;

interface CodeTemplate {
  id: string;
  /** Every parameter combination (each is one problem). */
  params: () => Params[];
  name: (p: Params) => string;
  /** Python parameter list with annotations, and the return annotation. */
  signature: string;
  returns: string;
  doc: (p: Params) => string;
  /** Canonical solution lines, each indented by 4 spaces in the output. */
  body: (p: Params) => string[];
  /** Reference implementation, used to compute docstring and test outputs. */
  run: (p: Params, args: Py[]) => Py;
  /** Random arguments for one call. */
  args: (rng: () => number, p: Params) => Py[];
}

const range = (lo: number, hi: number): number[] =>
  Array.from({ length: Math.max(0, hi - lo + 1) }, (_, i) => lo + i);
const ints = (rng: () => number, n: number, lo: number, hi: number): number[] =>
  Array.from({ length: n }, () => randInt(rng, lo, hi));
const WORDS = [
  'apple',
  'sky',
  'banana',
  'kiwi',
  'river',
  'a',
  'strawberry',
  'fig',
  'mountain',
  'cat',
  'elephant',
  'io',
  'code',
  'tree',
];
const words = (rng: () => number): string[] =>
  Array.from({ length: randInt(rng, 0, 6) }, () => WORDS[randInt(rng, 0, WORDS.length - 1)]!);
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const text = (rng: () => number): string =>
  Array.from({ length: randInt(rng, 0, 14) }, () =>
    rng() < 0.15 ? ' ' : LETTERS[randInt(rng, 0, 25)]!,
  ).join('');
const num = (x: Py): number => x as number;
const list = (x: Py): number[] => x as number[];
const pyMod = (a: number, m: number): number => ((a % m) + m) % m;

const TEMPLATES: CodeTemplate[] = [
  {
    id: 'sum_multiples',
    params: () => range(2, 20).map((k) => ({ k })),
    name: (p) => `sum_of_multiples_of_${p.k}`,
    signature: 'numbers: List[int]',
    returns: 'int',
    doc: (p) => `Return the sum of the elements of numbers that are divisible by ${p.k}.`,
    body: (p) => [`return sum(x for x in numbers if x % ${p.k} == 0)`],
    run: (p, [xs]) => list(xs!).reduce((s, x) => (pyMod(x, num(p.k!)) === 0 ? s + x : s), 0),
    args: (rng) => [ints(rng, randInt(rng, 0, 8), -30, 60)],
  },
  {
    id: 'affine_map',
    params: () => range(-4, 5).flatMap((a) => range(-9, 9).map((b) => ({ a, b }))),
    name: (p) =>
      `scale_by_${String(p.a).replace('-', 'minus_')}_shift_by_${String(p.b).replace('-', 'minus_')}`,
    signature: 'xs: List[int]',
    returns: 'List[int]',
    doc: (p) =>
      `Return a new list in which each element of xs is multiplied by ${p.a} and then ${p.b} is added.`,
    body: (p) => [`return [x * ${p.a} + ${p.b} for x in xs]`],
    run: (p, [xs]) => list(xs!).map((x) => x * num(p.a!) + num(p.b!)),
    args: (rng) => [ints(rng, randInt(rng, 0, 6), -20, 20)],
  },
  {
    id: 'longer_words',
    params: () => range(1, 9).map((n) => ({ n })),
    name: (p) => `words_longer_than_${p.n}`,
    signature: 'words: List[str]',
    returns: 'List[str]',
    doc: (p) => `Return the words that have more than ${p.n} characters, in their original order.`,
    body: (p) => [`return [w for w in words if len(w) > ${p.n}]`],
    run: (p, [ws]) => (ws as string[]).filter((w) => w.length > num(p.n!)),
    args: (rng) => [words(rng)],
  },
  {
    id: 'power_sum',
    params: () => range(1, 6).map((e) => ({ e })),
    name: (p) => `sum_of_powers_${p.e}`,
    signature: 'n: int',
    returns: 'int',
    doc: (p) => `Return the sum of i ** ${p.e} for i from 1 to n inclusive (0 when n < 1).`,
    body: (p) => [`return sum(i ** ${p.e} for i in range(1, n + 1))`],
    run: (p, [n]) => range(1, num(n!)).reduce((s, i) => s + i ** num(p.e!), 0),
    args: (rng) => [randInt(rng, -2, 15)],
  },
  {
    id: 'rotate_left',
    params: () => range(1, 9).map((k) => ({ k })),
    name: (p) => `rotate_left_by_${p.k}`,
    signature: 'xs: List[int]',
    returns: 'List[int]',
    doc: (p) => `Rotate xs to the left by ${p.k} positions (wrapping around) and return the new list.`,
    body: (p) => ['if not xs:', '    return []', `k = ${p.k} % len(xs)`, 'return xs[k:] + xs[:k]'],
    run: (p, [xs]) => {
      const a = list(xs!);
      if (a.length === 0) return [];
      const k = num(p.k!) % a.length;
      return [...a.slice(k), ...a.slice(0, k)];
    },
    args: (rng) => [ints(rng, randInt(rng, 0, 7), 0, 50)],
  },
  {
    id: 'clamp',
    params: () => range(-5, 5).flatMap((lo) => range(1, 8).map((w) => ({ lo, hi: lo + w }))),
    name: (p) =>
      `clamp_between_${String(p.lo).replace('-', 'minus_')}_and_${String(p.hi).replace('-', 'minus_')}`,
    signature: 'xs: List[int]',
    returns: 'List[int]',
    doc: (p) => `Return a list where each element of xs is limited to the range [${p.lo}, ${p.hi}].`,
    body: (p) => [`return [min(max(x, ${p.lo}), ${p.hi}) for x in xs]`],
    run: (p, [xs]) => list(xs!).map((x) => Math.min(Math.max(x, num(p.lo!)), num(p.hi!))),
    args: (rng) => [ints(rng, randInt(rng, 0, 7), -12, 12)],
  },
  {
    id: 'caesar',
    params: () => range(1, 25).map((k) => ({ k })),
    name: (p) => `shift_letters_by_${p.k}`,
    signature: 's: str',
    returns: 'str',
    doc: (p) =>
      `Shift every lowercase letter of s forward by ${p.k} places in the alphabet, wrapping from z to a. Other characters are kept.`,
    body: (p) => [
      'out = []',
      'for c in s:',
      "    if 'a' <= c <= 'z':",
      `        out.append(chr((ord(c) - ord('a') + ${p.k}) % 26 + ord('a')))`,
      '    else:',
      '        out.append(c)',
      "return ''.join(out)",
    ],
    run: (p, [s]) =>
      [...(s as string)]
        .map((c) => (c >= 'a' && c <= 'z' ? LETTERS[(c.charCodeAt(0) - 97 + num(p.k!)) % 26]! : c))
        .join(''),
    args: (rng) => [text(rng)],
  },
  {
    id: 'count_above',
    params: () => range(-10, 20).map((t) => ({ t })),
    name: (p) => `count_greater_than_${String(p.t).replace('-', 'minus_')}`,
    signature: 'xs: List[int]',
    returns: 'int',
    doc: (p) => `Return how many elements of xs are strictly greater than ${p.t}.`,
    body: (p) => [`return sum(1 for x in xs if x > ${p.t})`],
    run: (p, [xs]) => list(xs!).filter((x) => x > num(p.t!)).length,
    args: (rng) => [ints(rng, randInt(rng, 0, 8), -20, 30)],
  },
  {
    id: 'count_chars',
    params: () =>
      ['aeiou', 'xyz', 'abc', 'mnop', 'rst', 'aei', 'ou', 'lmn', 'defg', 'hjk'].map((set) => ({ set })),
    name: (p) => `count_letters_in_${p.set}`,
    signature: 's: str',
    returns: 'int',
    doc: (p) => `Return how many characters of s are one of the letters '${p.set}'.`,
    body: (p) => [`return sum(1 for c in s if c in '${p.set}')`],
    run: (p, [s]) => [...(s as string)].filter((c) => (p.set as string).includes(c)).length,
    args: (rng) => [text(rng)],
  },
  {
    id: 'running_extreme',
    params: () => [{ op: 'max' }, { op: 'min' }],
    name: (p) => `running_${p.op}imum`,
    signature: 'xs: List[int]',
    returns: 'List[int]',
    doc: (p) => `Return the list whose i-th element is the ${p.op}imum of xs[0], ..., xs[i].`,
    body: (p) => [
      'out = []',
      'for x in xs:',
      `    out.append(x if not out else ${p.op}(out[-1], x))`,
      'return out',
    ],
    run: (p, [xs]) => {
      const out: number[] = [];
      for (const x of list(xs!))
        out.push(out.length ? (p.op === 'max' ? Math.max : Math.min)(out[out.length - 1]!, x) : x);
      return out;
    },
    args: (rng) => [ints(rng, randInt(rng, 0, 8), -15, 15)],
  },
];

/** A Python literal for a JSON-like value. */
export function pythonLiteral(v: Py): string {
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return `[${v.map(pythonLiteral).join(', ')}]`;
}

interface Problem {
  template: CodeTemplate;
  params: Params;
  key: string;
}

function allProblems(): Problem[] {
  return TEMPLATES.flatMap((template) =>
    template
      .params()
      .map((params) => ({ template, params, key: `${template.id}:${JSON.stringify(params)}` })),
  );
}

/** The split a problem belongs to: a pure function of its template and parameters. */
export function codeSplitOf(key: string, testFraction = 0.1): 'train' | 'test' {
  return hashString(key) % 10000 < testFraction * 10000 ? 'test' : 'train';
}

/** The number of distinct problems in a split. */
export function codeProblemCount(split: 'train' | 'test', testFraction = 0.1): number {
  return allProblems().filter((p) => codeSplitOf(p.key, testFraction) === split).length;
}

function render(problem: Problem, rng: () => number, taskId: string): HumanEvalRecord {
  const { template: t, params: p } = problem;
  const name = t.name(p);
  const call = (args: Py[]) => `${name}(${args.map(pythonLiteral).join(', ')})`;
  const examples = [0, 1].map(() => t.args(rng, p));
  const docExamples = examples.map((a) => `    >>> ${call(a)}\n    ${pythonLiteral(t.run(p, a))}`).join('\n');
  const needsList = /List\[/.test(t.signature + t.returns);
  const prompt =
    `${needsList ? 'from typing import List\n\n\n' : ''}def ${name}(${t.signature}) -> ${t.returns}:\n` +
    `    """ ${t.doc(p)}\n${docExamples}\n    """\n`;
  const cases = Array.from({ length: 6 }, () => t.args(rng, p));
  const test =
    `\n\nMETADATA = {\n    'author': 'loralab',\n    'dataset': 'test'\n}\n\n\ndef check(candidate):\n` +
    cases
      .map(
        (a) => `    assert candidate(${a.map(pythonLiteral).join(', ')}) == ${pythonLiteral(t.run(p, a))}\n`,
      )
      .join('');
  return {
    task_id: taskId,
    prompt,
    canonical_solution: `${t
      .body(p)
      .map((l) => `    ${l}`)
      .join('\n')}\n`,
    test,
    entry_point: name,
  };
}

function checkConfig(config: CodeGeneratorConfig): Required<CodeGeneratorConfig> {
  const full = { seed: 0, testFraction: 0.1, ...config };
  if (full.split !== 'train' && full.split !== 'test')
    throw new ConfigError('split', `expected "train" or "test", found ${JSON.stringify(full.split)}`);
  if (!(full.testFraction > 0 && full.testFraction < 1))
    throw new ConfigError('testFraction', `expected a number in (0, 1), found ${full.testFraction}`);
  if (!Number.isInteger(full.count) || full.count < 0)
    throw new ConfigError('count', `expected a non-negative integer, found ${full.count}`);
  return full;
}

/** Yields `count` distinct problems of `split` in an order fixed by `seed`, with task ids `Generated/<split>/<i>`. */
export function* generateCodeTasks(config: CodeGeneratorConfig): Generator<HumanEvalRecord> {
  const { split, count, seed, testFraction } = checkConfig(config);
  const pool = allProblems().filter((p) => codeSplitOf(p.key, testFraction) === split);
  if (count > pool.length) {
    throw new ConfigError(
      'count',
      `the ${split} split holds ${pool.length} distinct problems; asked for ${count}`,
    );
  }
  const order = permutation(pool.length, mixSeed(seed, 0x636f6465));
  const rng = createRng(mixSeed(seed, 0x65786d70));
  for (let i = 0; i < count; i++) yield render(pool[order[i]!]!, rng, `Generated/${split}/${i}`);
}

/** A task as Python source: prompt, canonical solution, test and the call of `check`. */
export function codeTaskProgram(r: HumanEvalRecord): string {
  return `${r.prompt}${r.canonical_solution}${r.test}\n\ncheck(${r.entry_point})\n`;
}

/**
 * Yields `count` Python source files for continued pretraining, drawn (with repetition, fresh examples each
 * time) from the train split's problems only, so a model trained on the corpus has not seen a test problem.
 */
export function* generateCodeCorpus(config: {
  count: number;
  seed?: number;
  testFraction?: number;
}): Generator<string> {
  const { count, seed, testFraction } = checkConfig({ split: 'train', ...config });
  const pool = allProblems().filter((p) => codeSplitOf(p.key, testFraction) === 'train');
  const rng = createRng(mixSeed(seed, 0x636f7270));
  for (let i = 0; i < count; i++) {
    const r = render(pool[Math.floor(rng() * pool.length)]!, rng, `corpus/${i}`);
    yield `${r.prompt}${r.canonical_solution}`;
  }
}
