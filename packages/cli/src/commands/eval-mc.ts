// `loralab eval mc`: multiple choice by log-likelihood (acc, acc_norm) as lm-evaluation-harness (@loralab/eval):
// HellaSwag, ARC, WinoGrande files, or continuation choice built from held-out text (the offline forgetting probe).
import type { MultipleChoiceItem } from '@loralab/eval';
import type { KeyTemplate } from '../config-file.js';
import { UsageError } from '../errors.js';
import { buildConfig, type CommandSpec, choiceFlag, listFlag, numberFlag, stringFlag } from './command.js';
import { CORPORA, CORPUS_HELP, INPUT_FORMATS } from './corpora.js';
import {
  loadModel,
  MODEL_OPTIONS,
  MODEL_TEMPLATE_KEYS,
  type ModelSettings,
  modelFlags,
  scoreLine,
  writeScores,
} from './eval-common.js';
import { readTexts, type TextsSettings, textsSource } from './eval-texts.js';

const TASKS = ['hellaswag', 'arc', 'winogrande', 'continuation'] as const;

interface McConfig extends ModelSettings, TextsSettings {
  task?: (typeof TASKS)[number];
  items?: string;
  numChoices?: number;
  contextChars?: number;
  continuationChars?: number;
}

const TEMPLATE: KeyTemplate = {
  ...MODEL_TEMPLATE_KEYS,
  task: null,
  items: null,
  files: null,
  format: null,
  field: null,
  corpus: null,
  split: null,
  count: null,
  seed: null,
  categories: null,
  numChoices: null,
  contextChars: null,
  continuationChars: null,
};

export const evalMc: CommandSpec = {
  path: ['eval', 'mc'],
  summary:
    'multiple choice by log-likelihood (acc, acc_norm): HellaSwag, ARC, WinoGrande, or continuation choice',
  usage: '[options] --model DIR [--adapter DIR] --task TASK (--items FILE | [TEXT...] | --corpus NAME)',
  description: `hellaswag, arc and winogrande read their public formats (JSONL or save_to_disk) with lm-evaluation-harness's
preprocessing. continuation builds items from held-out text: each passage's true continuation among
--num-choices continuations cut from other passages (default: the Brown corpus).`,
  options: {
    task: { type: 'string', value: 'TASK', description: `${TASKS.join(', ')} (default continuation)` },
    items: { type: 'string', value: 'FILE', description: 'hellaswag/arc/winogrande: the items file' },
    corpus: { type: 'string', value: 'NAME', description: `continuation: ${CORPUS_HELP}` },
    format: {
      type: 'string',
      value: 'FMT',
      description: `continuation: format of TEXT files (${INPUT_FORMATS.join(', ')})`,
    },
    field: { type: 'string', value: 'NAME', description: 'continuation: record field with the text' },
    categories: { type: 'string', value: 'a,b,..', description: 'continuation, brown: categories' },
    count: { type: 'string', value: 'N', description: 'continuation, generated corpora: passages' },
    'num-choices': { type: 'string', value: 'N', description: 'continuation: choices per item (default 4)' },
    'context-chars': {
      type: 'string',
      value: 'N',
      description: 'continuation: characters of context (default 200)',
    },
    'continuation-chars': {
      type: 'string',
      value: 'N',
      description: 'continuation: characters per choice (default 100)',
    },
    seed: { type: 'string', value: 'N', description: 'continuation: seed of the distractors (default 1234)' },
    ...MODEL_OPTIONS,
  },
  config: true,
  graceful: true,
  positionals: { min: 0, max: Infinity },
  examples: [
    'loralab eval mc --model runs/base --task hellaswag --items hellaswag_val.jsonl --limit 500',
    'loralab eval mc --model runs/base --adapter runs/lora-r16/final --task continuation --corpus brown --limit 200',
  ],
  async run(ctx) {
    const int = (name: string) => numberFlag(ctx, name, { integer: true, min: 1 });
    const flags: McConfig = {
      ...modelFlags(ctx, int),
      task: choiceFlag(ctx, 'task', TASKS),
      items: stringFlag(ctx, 'items'),
      files: ctx.positionals.length ? ctx.positionals : undefined,
      format: choiceFlag(ctx, 'format', INPUT_FORMATS),
      field: stringFlag(ctx, 'field'),
      corpus: choiceFlag(ctx, 'corpus', CORPORA),
      categories: listFlag(ctx, 'categories'),
      count: int('count'),
      seed: numberFlag(ctx, 'seed', { integer: true }),
      numChoices: numberFlag(ctx, 'num-choices', { integer: true, min: 2 }),
      contextChars: int('context-chars'),
      continuationChars: int('continuation-chars'),
    };
    const c = buildConfig(ctx, { flags: flags as Record<string, unknown>, template: TEMPLATE }) as McConfig;
    const ev = await import('@loralab/eval');
    const task = c.task ?? 'continuation';
    let items: MultipleChoiceItem[];
    if (task === 'continuation') {
      if (c.items) throw new UsageError('--items is for hellaswag, arc and winogrande', 'eval mc');
      const source = textsSource(
        { corpus: 'brown', ...c, ...(c.files?.length && { corpus: undefined }) },
        'eval mc',
      );
      const passages = await readTexts(source);
      items = ev.buildContinuationChoiceItems(passages, {
        ...(c.numChoices !== undefined && { numChoices: c.numChoices }),
        ...(c.contextChars !== undefined && { contextChars: c.contextChars }),
        ...(c.continuationChars !== undefined && { continuationChars: c.continuationChars }),
        ...(c.seed !== undefined && { seed: c.seed }),
      });
    } else {
      if (!c.items) throw new UsageError(`--task ${task} needs --items FILE`, 'eval mc');
      items = { hellaswag: ev.loadHellaswag, arc: ev.loadArc, winogrande: ev.loadWinogrande }[task](c.items);
    }
    if (c.limit !== undefined) items = items.slice(0, c.limit);
    const loaded = await loadModel(ctx, c);
    try {
      const ll = ev.modelLogLikelihood(loaded.model, loaded.tokenizer, {
        ...(c.batchSize && { batchSize: c.batchSize }),
      });
      const total = items.reduce((a, item) => a + item.requests.length, 0);
      let done = 0;
      ctx.reporter.progress('scoring choices', 0, total);
      const counting = {
        logLikelihood: async (requests: Parameters<typeof ll.logLikelihood>[0]) => {
          const out = await ll.logLikelihood(requests);
          done += requests.length;
          ctx.reporter.progress('scoring choices', done, total);
          if (ctx.signal.aborted) throw ctx.signal.reason;
          return out;
        },
      };
      const r = await ev.evaluateMultipleChoice(items, counting, { batchSize: c.batchSize ?? 16 });
      ctx.reporter.done('scoring choices');
      const scores = { acc: r.acc, acc_norm: r.accNorm };
      await writeScores(c.output, `mc-${task}.json`, {
        task: `mc-${task}`,
        model: c.model,
        adapter: c.adapter ?? null,
        items: items.length,
        scores,
      });
      ctx.out(`mc ${task}: ${items.length} items: ${scoreLine(scores)}`);
      return 0;
    } finally {
      loaded.dispose();
    }
  },
};
