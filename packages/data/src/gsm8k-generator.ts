// A seeded generator of GSM8K-style grade-school math word problems (Cobbe et al., 2021, arXiv 2110.14168):
// records `{question, answer}` whose answer is worked steps with `<<expr=result>>` calculator annotations and
// a last line `#### N`, as in GSM8K. Train and test splits are disjoint by construction (see `mathSplitOf`).
import { ConfigError } from './errors.js';
import { createRng, hashString, mixSeed, pick, randInt } from './prng.js';

/** One GSM8K record. */
export interface Gsm8kRecord {
  question: string;
  answer: string;
}

export interface MathGeneratorConfig {
  /** Which split to generate. A question belongs to exactly one split, fixed by a hash of its text. */
  split: 'train' | 'test';
  /** How many problems to generate. */
  count: number;
  /** Seed of the problem stream. Default 0. */
  seed?: number;
  /** Share of all possible questions that belongs to the test split, in (0, 1). Default 0.1. */
  testFraction?: number;
  /**
   * `gsm8k` (default): two- and three-step problems with numbers up to the thousands, as in GSM8K.
   * `easy`: one step on one-digit numbers (sums, differences, products, doubling), the same answer format: a skill
   * a model of a few million parameters can learn in a few hundred finetuning steps, so accuracy moves.
   */
  level?: MathLevel;
}

/** The difficulty of generated math problems (see `MathGeneratorConfig.level`). */
export type MathLevel = 'gsm8k' | 'easy';
export const MATH_LEVELS: readonly MathLevel[] = ['gsm8k', 'easy'];

/** The split a question belongs to: a pure function of its text, so two splits can never share a question. */
export function mathSplitOf(question: string, testFraction = 0.1): 'train' | 'test' {
  return hashString(question) % 10000 < testFraction * 10000 ? 'test' : 'train';
}

const NAMES: Array<[string, 'She' | 'He']> = [
  ['Natalia', 'She'],
  ['James', 'He'],
  ['Maria', 'She'],
  ['Tom', 'He'],
  ['Aisha', 'She'],
  ['Ken', 'He'],
  ['Lucia', 'She'],
  ['Omar', 'He'],
  ['Priya', 'She'],
  ['Diego', 'He'],
  ['Mei', 'She'],
  ['Samuel', 'He'],
];
const ITEMS = [
  'apples',
  'pencils',
  'stickers',
  'cupcakes',
  'notebooks',
  'marbles',
  'books',
  'oranges',
  'cookies',
  'toy cars',
];
const FRIENDS = ['her brother', 'a neighbor', 'his cousin', 'a classmate', 'her friend', 'his sister'];

interface Step {
  /** Sentence with `{}` where the calculation goes. */
  text: string;
  expr: string;
  result: number;
}

const calc = (s: Step): string => s.text.replace('{}', `${s.expr} = <<${s.expr}=${s.result}>>${s.result}`);

type Template = (rng: () => number) => { question: string; steps: Step[] };

/** Operation types: products and sums, halves, differences, equal sharing, percentages, rates, budgets. */
const TEMPLATES: Template[] = [
  (rng) => {
    const [name] = pick(rng, NAMES);
    const [a, p, b, q] = [randInt(rng, 2, 12), randInt(rng, 1, 9), randInt(rng, 2, 12), randInt(rng, 1, 9)];
    const [i1, i2] = [pick(rng, ITEMS), pick(rng, ITEMS)];
    const x = a * p;
    const y = b * q;
    return {
      question: `${name} buys ${a} ${i1} at $${p} each and ${b} ${i2} at $${q} each. How much does ${name} spend in total?`,
      steps: [
        { text: `The ${i1} cost {} dollars.`, expr: `${a}*${p}`, result: x },
        { text: `The ${i2} cost {} dollars.`, expr: `${b}*${q}`, result: y },
        { text: `In total ${name} spends {} dollars.`, expr: `${x}+${y}`, result: x + y },
      ],
    };
  },
  (rng) => {
    const [name, pron] = pick(rng, NAMES);
    const a = 2 * randInt(rng, 5, 60);
    const item = pick(rng, ITEMS);
    return {
      question: `${name} sold ${a} ${item} in April, and then ${pron.toLowerCase()} sold half as many ${item} in May. How many ${item} did ${name} sell altogether in April and May?`,
      steps: [
        { text: `${name} sold {} ${item} in May.`, expr: `${a}/2`, result: a / 2 },
        {
          text: `${name} sold {} ${item} altogether in April and May.`,
          expr: `${a}+${a / 2}`,
          result: a + a / 2,
        },
      ],
    };
  },
  (rng) => {
    const [name, pron] = pick(rng, NAMES);
    const a = randInt(rng, 20, 90);
    const b = randInt(rng, 1, a - 1);
    const c = randInt(rng, 1, 30);
    const item = pick(rng, ITEMS);
    return {
      question: `${name} had ${a} ${item}. ${pron} gave ${b} of them to ${pick(rng, FRIENDS)} and then bought ${c} more. How many ${item} does ${name} have now?`,
      steps: [
        { text: `After giving some away, ${name} had {} ${item}.`, expr: `${a}-${b}`, result: a - b },
        { text: `After buying more, ${name} has {} ${item}.`, expr: `${a - b}+${c}`, result: a - b + c },
      ],
    };
  },
  (rng) => {
    const [name] = pick(rng, NAMES);
    const k = randInt(rng, 2, 12);
    const m = randInt(rng, 2, 25);
    const item = pick(rng, ITEMS);
    return {
      question: `${name} has ${k * m} ${item} and shares them equally among ${k} friends. How many ${item} does each friend get?`,
      steps: [{ text: `Each friend gets {} ${item}.`, expr: `${k * m}/${k}`, result: m }],
    };
  },
  (rng) => {
    const d = pick(rng, [10, 20, 25, 50]);
    const p = 20 * randInt(rng, 1, 40);
    const thing = pick(rng, ['jacket', 'bicycle', 'lamp', 'backpack', 'board game', 'pair of shoes']);
    const off = (p * d) / 100;
    return {
      question: `A ${thing} costs $${p}. It is on sale for ${d}% off. How much does the ${thing} cost on sale?`,
      steps: [
        { text: 'The discount is {} dollars.', expr: `${p}*${d}/100`, result: off },
        { text: `The ${thing} costs {} dollars on sale.`, expr: `${p}-${off}`, result: p - off },
      ],
    };
  },
  (rng) => {
    const [name] = pick(rng, NAMES);
    const r = randInt(rng, 5, 40);
    const days = randInt(rng, 2, 20);
    const m = randInt(rng, 10, 200);
    const n = m + r * days;
    return {
      question: `${name} is reading a ${n}-page book and has already read ${m} pages. If ${name} reads ${r} pages per day, how many more days will it take to finish the book?`,
      steps: [
        { text: 'There are {} pages left.', expr: `${n}-${m}`, result: n - m },
        { text: `It will take {} days.`, expr: `${n - m}/${r}`, result: days },
      ],
    };
  },
  (rng) => {
    const [name, pron] = pick(rng, NAMES);
    const w = randInt(rng, 8, 30);
    const h = randInt(rng, 2, 8);
    const d = randInt(rng, 2, 6);
    const earned = w * h * d;
    const s = randInt(rng, 1, earned - 1);
    return {
      question: `${name} earns $${w} an hour and works ${h} hours a day for ${d} days. ${pron} then spends $${s} on groceries. How much money does ${name} have left?`,
      steps: [
        { text: `${name} earns {} dollars a day.`, expr: `${w}*${h}`, result: w * h },
        { text: `Over ${d} days ${name} earns {} dollars.`, expr: `${w * h}*${d}`, result: earned },
        { text: `${name} has {} dollars left.`, expr: `${earned}-${s}`, result: earned - s },
      ],
    };
  },
];

/** Others in the `easy` problems, without a pronoun that could disagree with the name. */
const OTHERS = ['neighbor', 'classmate', 'friend', 'cousin'];

/** One-step problems on one-digit numbers (the `easy` level): each answer is one calculator step. */
const EASY_TEMPLATES: Template[] = [
  (rng) => {
    const [name, pron] = pick(rng, NAMES);
    const [a, b] = [randInt(rng, 1, 9), randInt(rng, 1, 9)];
    const item = pick(rng, ITEMS);
    return {
      question: `${name} has ${a} ${item}. ${pron} gets ${b} more ${item}. How many ${item} does ${name} have now?`,
      steps: [{ text: `${name} has {} ${item} now.`, expr: `${a}+${b}`, result: a + b }],
    };
  },
  (rng) => {
    const [name, pron] = pick(rng, NAMES);
    const a = randInt(rng, 2, 9);
    const b = randInt(rng, 1, a - 1);
    const item = pick(rng, ITEMS);
    return {
      question: `${name} has ${a} ${item}. ${pron} gives ${b} ${item} to a ${pick(rng, OTHERS)}. How many ${item} does ${name} have left?`,
      steps: [{ text: `${name} has {} ${item} left.`, expr: `${a}-${b}`, result: a - b }],
    };
  },
  (rng) => {
    const [name] = pick(rng, NAMES);
    const [k, m] = [randInt(rng, 2, 9), randInt(rng, 2, 9)];
    const item = pick(rng, ITEMS);
    return {
      question: `${name} has ${k} bags with ${m} ${item} in each bag. How many ${item} does ${name} have?`,
      steps: [{ text: `${name} has {} ${item}.`, expr: `${k}*${m}`, result: k * m }],
    };
  },
  (rng) => {
    const [name] = pick(rng, NAMES);
    const a = randInt(rng, 1, 9);
    const item = pick(rng, ITEMS);
    const other = pick(rng, OTHERS);
    return {
      question: `${name} has ${a} ${item}. A ${other} has twice as many ${item} as ${name}. How many ${item} does the ${other} have?`,
      steps: [{ text: `The ${other} has {} ${item}.`, expr: `2*${a}`, result: 2 * a }],
    };
  },
];

/** Renders one problem's steps as a GSM8K answer. */
function answerOf(steps: Step[]): string {
  return `${steps.map(calc).join('\n')}\n#### ${steps[steps.length - 1]!.result}`;
}

function checkConfig(config: MathGeneratorConfig): Required<MathGeneratorConfig> {
  const full = { seed: 0, testFraction: 0.1, level: 'gsm8k' as MathLevel, ...config };
  if (full.split !== 'train' && full.split !== 'test')
    throw new ConfigError('split', `expected "train" or "test", found ${JSON.stringify(full.split)}`);
  if (!Number.isInteger(full.count) || full.count < 0)
    throw new ConfigError('count', `expected a non-negative integer, found ${full.count}`);
  if (!MATH_LEVELS.includes(full.level))
    throw new ConfigError(
      'level',
      `expected one of ${MATH_LEVELS.join(', ')}, found ${JSON.stringify(full.level)}`,
    );
  if (!(full.testFraction > 0 && full.testFraction < 1))
    throw new ConfigError('testFraction', `expected a number in (0, 1), found ${full.testFraction}`);
  return full;
}

/**
 * Yields `count` problems of `split`. The stream of candidate problems depends only on `seed`; each
 * candidate is kept by the split its question hashes to, so splits are disjoint whatever the seeds.
 */
export function* generateMathProblems(config: MathGeneratorConfig): Generator<Gsm8kRecord> {
  const { split, count, seed, testFraction, level } = checkConfig(config);
  const rng = createRng(mixSeed(seed, 0x6d617468));
  const templates = level === 'easy' ? EASY_TEMPLATES : TEMPLATES;
  for (let made = 0; made < count; ) {
    const { question, steps } = pick(rng, templates)(rng);
    if (mathSplitOf(question, testFraction) !== split) continue;
    made++;
    yield { question, answer: answerOf(steps) };
  }
}

/** A math problem as continued-pretraining text. */
export function mathProblemText(r: Gsm8kRecord): string {
  return `Question: ${r.question}\nAnswer: ${r.answer}`;
}
