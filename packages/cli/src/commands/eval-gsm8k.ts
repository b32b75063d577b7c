// `loralab eval gsm8k`: GSM8K-schema math word problems, k-shot greedy generation, exact match (@loralab/eval).
import type { Gsm8kDoc } from '@loralab/eval';
import type { KeyTemplate } from '../config-file.js';
import { UsageError } from '../errors.js';
import { buildConfig, type CommandSpec, choiceFlag, numberFlag, stringFlag } from './command.js';
import { corpusSource } from './corpora.js';
import {
  GENERATION_OPTIONS,
  generatorOptions,
  loadModel,
  MODEL_OPTIONS,
  MODEL_TEMPLATE_KEYS,
  type ModelSettings,
  modelFlags,
  scoreLine,
  writeScores,
} from './eval-common.js';

interface Gsm8kConfig extends ModelSettings {
  tokenHealing?: boolean;
  test?: string;
  train?: string;
  corpus?: 'gsm8k-style';
  count?: number;
  seed?: number;
  shots?: number;
  maxNewTokens?: number;
}

const TEMPLATE: KeyTemplate = {
  ...MODEL_TEMPLATE_KEYS,
  tokenHealing: null,
  test: null,
  train: null,
  corpus: null,
  count: null,
  seed: null,
  shots: null,
  maxNewTokens: null,
};

async function generated(split: 'train' | 'test', count: number, seed: number): Promise<Gsm8kDoc[]> {
  const { readSource } = await import('@loralab/data');
  const docs: Gsm8kDoc[] = [];
  for await (const { value } of readSource(corpusSource('gsm8k-style', { split, count, seed }))) {
    docs.push(value as Gsm8kDoc);
  }
  return docs;
}

export const evalGsm8k: CommandSpec = {
  path: ['eval', 'gsm8k'],
  summary:
    'GSM8K-style exact match (strict-match and flexible-extract), k-shot greedy, as lm-evaluation-harness',
  usage: '[options] --model DIR [--adapter DIR] (--test FILE [--train FILE] | --corpus gsm8k-style)',
  description: `Prompts are "Question: ...\\nAnswer:" after --shots exemplars drawn from --train (as lm-evaluation-harness's
gsm8k task with random.Random(1234)); generation is greedy until "Question:". Files are JSONL or save_to_disk
folders with "question" and "answer" (ending in "#### N").`,
  options: {
    test: { type: 'string', value: 'FILE', description: 'test problems (GSM8K schema)' },
    train: {
      type: 'string',
      value: 'FILE',
      description: 'exemplars for the few-shot prompt (required when --shots > 0)',
    },
    corpus: {
      type: 'string',
      value: 'NAME',
      description: 'gsm8k-style: generated test problems and exemplars',
    },
    count: { type: 'string', value: 'N', description: 'generated test problems (default 50)' },
    seed: { type: 'string', value: 'N', description: 'seed of the generated problems (default 0)' },
    shots: { type: 'string', value: 'N', description: 'exemplars per prompt (default 5)' },
    'max-new-tokens': { type: 'string', value: 'N', description: 'tokens per answer (default 256)' },
    ...MODEL_OPTIONS,
    ...GENERATION_OPTIONS,
  },
  config: true,
  graceful: true,
  positionals: { min: 0, max: 0 },
  examples: [
    'loralab eval gsm8k --model runs/fft/final --test gsm8k/test.jsonl --train gsm8k/train.jsonl',
    'loralab eval gsm8k --model runs/base --adapter runs/lora-r16/final --corpus gsm8k-style --count 100 -o eval/',
  ],
  async run(ctx) {
    const int = (name: string) => numberFlag(ctx, name, { integer: true, min: 1 });
    const corpus = choiceFlag(ctx, 'corpus', ['gsm8k-style'] as const);
    const flags: Gsm8kConfig = {
      ...modelFlags(ctx, int),
      tokenHealing: ctx.values['token-healing'] === true ? true : undefined,
      test: stringFlag(ctx, 'test'),
      train: stringFlag(ctx, 'train'),
      corpus,
      count: int('count'),
      seed: numberFlag(ctx, 'seed', { integer: true }),
      shots: numberFlag(ctx, 'shots', { integer: true, min: 0 }),
      maxNewTokens: int('max-new-tokens'),
    };
    const c = buildConfig(ctx, {
      flags: flags as Record<string, unknown>,
      template: TEMPLATE,
    }) as Gsm8kConfig;
    const ev = await import('@loralab/eval');
    const shots = c.shots ?? 5;
    let test: Gsm8kDoc[];
    let train: Gsm8kDoc[] = [];
    if (c.test) {
      test = ev.loadGsm8k(c.test);
      if (c.train) train = ev.loadGsm8k(c.train);
      else if (shots > 0)
        throw new UsageError('--shots > 0 needs --train FILE (or pass --shots 0)', 'eval gsm8k');
    } else if (c.corpus) {
      test = await generated('test', c.count ?? 50, c.seed ?? 0);
      train = shots > 0 ? await generated('train', Math.max(20, shots), c.seed ?? 0) : [];
    } else throw new UsageError('give --test FILE or --corpus gsm8k-style', 'eval gsm8k');
    if (c.limit !== undefined) test = test.slice(0, c.limit);
    const loaded = await loadModel(ctx, c);
    try {
      let done = 0;
      ctx.reporter.progress('answering', 0, test.length);
      const generator = ev.modelGenerator(loaded.model, loaded.tokenizer, generatorOptions(c, 'eval gsm8k'));
      const counting = {
        generate: async (requests: Parameters<typeof generator.generate>[0]) => {
          const out = await generator.generate(requests);
          done += requests.length;
          ctx.reporter.progress('answering', done, test.length);
          if (ctx.signal.aborted) throw ctx.signal.reason;
          return out;
        },
      };
      const r = await ev.evaluateGsm8k(test, train, counting, {
        numFewshot: shots,
        maxNewTokens: c.maxNewTokens ?? 256,
        batchSize: c.batchSize ?? 8,
      });
      ctx.reporter.done('answering');
      const scores = { strict_match: r.strictMatch, flexible_extract: r.flexibleExtract };
      await writeScores(c.output, 'gsm8k.json', {
        task: 'gsm8k',
        model: c.model,
        adapter: c.adapter ?? null,
        problems: test.length,
        shots,
        scores,
        items: r.items.map((item, i) => ({ question: test[i]!.question, answer: test[i]!.answer, ...item })),
      });
      ctx.out(`gsm8k: ${test.length} problems, ${shots}-shot: ${scoreLine(scores)}`);
      return 0;
    } finally {
      loaded.dispose();
    }
  },
};
