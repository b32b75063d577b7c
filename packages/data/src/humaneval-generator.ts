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
  /**
   * `humaneval` (default): 11 function templates, some with two constants and multi-line bodies, docstring examples
   * on lists of up to 8 numbers. `easy`: 14 one-line templates over a short list `xs` and a parameter `k` with a
   * default (`def cap_at(xs: List[int], k: int = 7)`); a problem is a template with its default, the body names `k`
   * (so a model need not copy a number from the prompt, which a base of a few million parameters does not learn in
   * a short finetune), and the tests call it with the default and with other values of `k`. Held-out problems
   * share their template with training problems and differ in the default, so `easy` pass@1 measures how well a
   * finetune learned the docstring-to-body map of a small family, not generalisation to unseen functions.
   */
  level?: CodeLevel;
}

/** The difficulty of generated code tasks (see `CodeGeneratorConfig.level`). */
export type CodeLevel = 'humaneval' | 'easy';
export const CODE_LEVELS: readonly CodeLevel[] = ['humaneval', 'easy'];

type Py = number | string | boolean | Py[];
type Params = Record<string, number | string>;

interface CodeTemplate {
  id: string;
  /** Every parameter combination (each is one problem). */
  params: () => Params[];
  name: (p: Params) => string;
  /** Python parameter list with annotations, and the return annotation. */
  signature: (p: Params) => string;
  returns: string;
  doc: (p: Params) => string;
  /** Canonical solution lines, each indented by 4 spaces in the output. */
  body: (p: Params) => string[];
  /** Reference implementation, used to compute docstring and test outputs. */
  run: (p: Params, args: Py[]) => Py;
  /** Random arguments for one call. */
  args: (rng: () => number, p: Params) => Py[];
  /** Fixed test calls besides the random ones, so that a wrong constant fails (boundary values). */
  edgeCases?: (p: Params) => Py[][];
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
    signature: () => 'numbers: List[int]',
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
    signature: () => 'xs: List[int]',
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
    signature: () => 'words: List[str]',
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
    signature: () => 'n: int',
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
    signature: () => 'xs: List[int]',
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
    signature: () => 'xs: List[int]',
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
    signature: () => 's: str',
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
    signature: () => 'xs: List[int]',
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
    signature: () => 's: str',
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
    signature: () => 'xs: List[int]',
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

/** Short lists of small numbers, so an `easy` prompt holds few numbers besides its constant. */
const smallInts = (rng: () => number, lo: number, hi: number): number[] =>
  ints(rng, randInt(rng, 1, 4), lo, hi);

/**
 * One `easy` template: a list-of-int argument `xs` and a constant `k: int = <default>`, a one-line body that names
 * `k`. A problem is the template with one default; its tests call it with the default and with other values of
 * `k`, so a body that writes the default's number instead of `k` fails.
 */
function easyTemplate(o: {
  id: string;
  ks: number[];
  name: string;
  doc: string;
  body: string;
  returns: string;
  run: (k: number, xs: number[]) => Py;
  lo?: number;
  hi?: number;
}): CodeTemplate {
  const k = (p: Params) => num(p.k!);
  const kOf = (p: Params, args: Py[]) => (args.length > 1 ? num(args[1]!) : k(p));
  const other = (rng: () => number, p: Params) => {
    const rest = o.ks.filter((v) => v !== k(p));
    return rest[randInt(rng, 0, rest.length - 1)]!;
  };
  // k's neighbours (comparisons, caps, divisors), a list longer than k (slices), and one without k (membership).
  const edges = (v: number): number[][] => [[v - 1, v, v + 1, 2 * v + 1], range(0, v + 1), [v + 1, v - 1]];
  return {
    id: `easy_${o.id}`,
    params: () => o.ks.map((v) => ({ k: v })),
    name: () => o.name,
    signature: (p) => `xs: List[int], k: int = ${k(p)}`,
    returns: o.returns,
    doc: () => o.doc,
    body: () => [o.body],
    run: (p, args) => o.run(kOf(p, args), list(args[0]!)),
    // Half the calls use the default, half pass another k.
    args: (rng, p) => {
      const xs = smallInts(rng, o.lo ?? 0, o.hi ?? 20);
      return rng() < 0.5 ? [xs] : [xs, other(rng, p)];
    },
    edgeCases: (p) => {
      const v = o.ks[(o.ks.indexOf(k(p)) + 3) % o.ks.length]!;
      return [...edges(k(p)).map((xs) => [xs]), ...edges(v).map((xs) => [xs, v])];
    },
  };
}

const EASY_TEMPLATES: CodeTemplate[] = [
  easyTemplate({
    id: 'add',
    ks: range(1, 30),
    name: 'add_to_each',
    doc: 'Return a new list with k added to each element of xs.',
    body: 'return [x + k for x in xs]',
    returns: 'List[int]',
    run: (k, xs) => xs.map((x) => x + k),
  }),
  easyTemplate({
    id: 'subtract',
    ks: range(1, 30),
    name: 'subtract_from_each',
    doc: 'Return a new list with k subtracted from each element of xs.',
    body: 'return [x - k for x in xs]',
    returns: 'List[int]',
    run: (k, xs) => xs.map((x) => x - k),
  }),
  easyTemplate({
    id: 'multiply',
    ks: range(2, 30),
    name: 'multiply_each',
    doc: 'Return a new list with each element of xs multiplied by k.',
    body: 'return [x * k for x in xs]',
    returns: 'List[int]',
    run: (k, xs) => xs.map((x) => x * k),
  }),
  easyTemplate({
    id: 'remainder',
    ks: range(2, 30),
    name: 'remainders',
    doc: 'Return a new list with the remainder of each element of xs divided by k.',
    body: 'return [x % k for x in xs]',
    returns: 'List[int]',
    run: (k, xs) => xs.map((x) => pyMod(x, k)),
    hi: 60,
  }),
  easyTemplate({
    id: 'keep_above',
    ks: range(1, 30),
    name: 'keep_greater',
    doc: 'Return the elements of xs that are greater than k, in their original order.',
    body: 'return [x for x in xs if x > k]',
    returns: 'List[int]',
    run: (k, xs) => xs.filter((x) => x > k),
    hi: 40,
  }),
  easyTemplate({
    id: 'keep_below',
    ks: range(1, 30),
    name: 'keep_less',
    doc: 'Return the elements of xs that are less than k, in their original order.',
    body: 'return [x for x in xs if x < k]',
    returns: 'List[int]',
    run: (k, xs) => xs.filter((x) => x < k),
    hi: 40,
  }),
  easyTemplate({
    id: 'count_above',
    ks: range(1, 30),
    name: 'count_greater',
    doc: 'Return how many elements of xs are greater than k.',
    body: 'return sum(1 for x in xs if x > k)',
    returns: 'int',
    run: (k, xs) => xs.filter((x) => x > k).length,
    hi: 40,
  }),
  easyTemplate({
    id: 'count_below',
    ks: range(1, 30),
    name: 'count_less',
    doc: 'Return how many elements of xs are less than k.',
    body: 'return sum(1 for x in xs if x < k)',
    returns: 'int',
    run: (k, xs) => xs.filter((x) => x < k).length,
    hi: 40,
  }),
  easyTemplate({
    id: 'count_equal',
    ks: range(0, 19),
    name: 'count_of',
    doc: 'Return how many times k occurs in xs.',
    body: 'return xs.count(k)',
    returns: 'int',
    run: (k, xs) => xs.filter((x) => x === k).length,
    hi: 19,
  }),
  easyTemplate({
    id: 'contains',
    ks: range(0, 19),
    name: 'contains',
    doc: 'Return True if k occurs in xs, else False.',
    body: 'return k in xs',
    returns: 'bool',
    run: (k, xs) => xs.includes(k),
    hi: 19,
  }),
  easyTemplate({
    id: 'sum_multiples',
    ks: range(2, 30),
    name: 'sum_of_multiples',
    doc: 'Return the sum of the elements of xs that are divisible by k.',
    body: 'return sum(x for x in xs if x % k == 0)',
    returns: 'int',
    run: (k, xs) => xs.reduce((s, x) => (pyMod(x, k) === 0 ? s + x : s), 0),
    hi: 60,
  }),
  easyTemplate({
    id: 'first',
    ks: range(1, 12),
    name: 'first_elements',
    doc: 'Return the first k elements of xs (all of them if xs is shorter).',
    body: 'return xs[:k]',
    returns: 'List[int]',
    run: (k, xs) => xs.slice(0, k),
  }),
  easyTemplate({
    id: 'drop',
    ks: range(1, 12),
    name: 'drop_first',
    doc: 'Return xs without its first k elements.',
    body: 'return xs[k:]',
    returns: 'List[int]',
    run: (k, xs) => xs.slice(k),
  }),
  easyTemplate({
    id: 'cap',
    ks: range(1, 30),
    name: 'cap_at',
    doc: 'Return a new list in which each element of xs greater than k is replaced by k.',
    body: 'return [min(x, k) for x in xs]',
    returns: 'List[int]',
    run: (k, xs) => xs.map((x) => Math.min(x, k)),
    hi: 40,
  }),
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

function allProblems(level: CodeLevel): Problem[] {
  return (level === 'easy' ? EASY_TEMPLATES : TEMPLATES).flatMap((template) =>
    template
      .params()
      .map((params) => ({ template, params, key: `${template.id}:${JSON.stringify(params)}` })),
  );
}

/** The split a problem belongs to: a pure function of its template and parameters. */
export function codeSplitOf(key: string, testFraction = 0.1): 'train' | 'test' {
  return hashString(key) % 10000 < testFraction * 10000 ? 'test' : 'train';
}

/** The problems of one split at one level. */
function splitProblems(split: 'train' | 'test', testFraction: number, level: CodeLevel): Problem[] {
  return allProblems(level).filter((p) => codeSplitOf(p.key, testFraction) === split);
}

/** The number of distinct problems in a split. */
export function codeProblemCount(
  split: 'train' | 'test',
  testFraction = 0.1,
  level: CodeLevel = 'humaneval',
): number {
  return splitProblems(split, testFraction, level).length;
}

function render(problem: Problem, rng: () => number, taskId: string): HumanEvalRecord {
  const { template: t, params: p } = problem;
  const name = t.name(p);
  const call = (args: Py[]) => `${name}(${args.map(pythonLiteral).join(', ')})`;
  const examples = [0, 1].map(() => t.args(rng, p));
  const docExamples = examples.map((a) => `    >>> ${call(a)}\n    ${pythonLiteral(t.run(p, a))}`).join('\n');
  const needsList = /List\[/.test(t.signature(p) + t.returns);
  const prompt =
    `${needsList ? 'from typing import List\n\n\n' : ''}def ${name}(${t.signature(p)}) -> ${t.returns}:\n` +
    `    """ ${t.doc(p)}\n${docExamples}\n    """\n`;
  const cases = [...Array.from({ length: 6 }, () => t.args(rng, p)), ...(t.edgeCases?.(p) ?? [])];
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
  const full = { seed: 0, testFraction: 0.1, level: 'humaneval' as CodeLevel, ...config };
  if (!CODE_LEVELS.includes(full.level))
    throw new ConfigError(
      'level',
      `expected one of ${CODE_LEVELS.join(', ')}, found ${JSON.stringify(full.level)}`,
    );
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
  const { split, count, seed, testFraction, level } = checkConfig(config);
  const pool = splitProblems(split, testFraction, level);
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
  level?: CodeLevel;
}): Generator<string> {
  const { count, seed, testFraction, level } = checkConfig({ split: 'train', ...config });
  const pool = splitProblems('train', testFraction, level);
  const rng = createRng(mixSeed(seed, 0x636f7270));
  for (let i = 0; i < count; i++) {
    const r = render(pool[Math.floor(rng() * pool.length)]!, rng, `corpus/${i}`);
    yield `${r.prompt}${r.canonical_solution}`;
  }
}
