// `loralab eval perplexity`: perplexity and bits per byte of held-out text, as lm-evaluation-harness's rolling
// log-likelihood tasks (@loralab/eval).
import type { KeyTemplate } from '../config-file.js';
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

interface PerplexityConfig extends ModelSettings, TextsSettings {}

const TEMPLATE: KeyTemplate = {
  ...MODEL_TEMPLATE_KEYS,
  files: null,
  format: null,
  field: null,
  corpus: null,
  split: null,
  count: null,
  seed: null,
  categories: null,
};

export const evalPerplexity: CommandSpec = {
  path: ['eval', 'perplexity'],
  summary: 'token, word and byte perplexity and bits per byte of held-out text (files or a built-in corpus)',
  usage: '[options] --model DIR [--adapter DIR] (TEXT... | --corpus NAME)',
  description: `Each document's log-likelihood is summed over disjoint windows of the model's context (loglikelihood_rolling);
bits per byte = -sum(L) / bytes / ln 2 is comparable across tokenizers. --limit caps the number of documents.`,
  options: {
    corpus: { type: 'string', value: 'NAME', description: CORPUS_HELP },
    format: {
      type: 'string',
      value: 'FMT',
      description: `format of TEXT files (${INPUT_FORMATS.join(', ')}; default by extension)`,
    },
    field: { type: 'string', value: 'NAME', description: 'record field holding the text (default "text")' },
    categories: { type: 'string', value: 'a,b,..', description: 'brown: categories a..r' },
    split: { type: 'string', value: 'SPLIT', description: 'generated corpora: test (default) or train' },
    count: { type: 'string', value: 'N', description: 'generated corpora: documents' },
    seed: { type: 'string', value: 'N', description: 'generated corpora: seed' },
    ...MODEL_OPTIONS,
  },
  config: true,
  graceful: true,
  positionals: { min: 0, max: Infinity },
  examples: [
    'loralab eval perplexity --model runs/base --corpus brown --categories r --limit 20',
    'loralab eval perplexity --model runs/base --adapter runs/lora/final heldout.jsonl --field text -o eval/',
  ],
  async run(ctx) {
    const int = (name: string) => numberFlag(ctx, name, { integer: true, min: 1 });
    const flags: PerplexityConfig = {
      ...modelFlags(ctx, int),
      files: ctx.positionals.length ? ctx.positionals : undefined,
      format: choiceFlag(ctx, 'format', INPUT_FORMATS),
      field: stringFlag(ctx, 'field'),
      corpus: choiceFlag(ctx, 'corpus', CORPORA),
      categories: listFlag(ctx, 'categories'),
      split: choiceFlag(ctx, 'split', ['train', 'test'] as const),
      count: int('count'),
      seed: numberFlag(ctx, 'seed', { integer: true }),
    };
    const c = buildConfig(ctx, {
      flags: flags as Record<string, unknown>,
      template: TEMPLATE,
    }) as PerplexityConfig;
    const texts = await readTexts(textsSource(c, 'eval perplexity'), c.limit);
    const ev = await import('@loralab/eval');
    const loaded = await loadModel(ctx, c);
    try {
      const ll = ev.modelLogLikelihood(loaded.model, loaded.tokenizer, {
        ...(c.batchSize && { batchSize: c.batchSize }),
      });
      let done = 0;
      ctx.reporter.progress('scoring documents', 0, texts.length);
      const counting = {
        rollingLogLikelihood: async (batch: readonly string[]) => {
          const out = await ll.rollingLogLikelihood(batch);
          done += batch.length;
          ctx.reporter.progress('scoring documents', done, texts.length);
          if (ctx.signal.aborted) throw ctx.signal.reason;
          return out;
        },
      };
      const r = await ev.evaluatePerplexity(texts, counting, { batchSize: c.batchSize ?? 4 });
      ctx.reporter.done('scoring documents');
      const scores = {
        token_perplexity: r.tokenPerplexity,
        word_perplexity: r.wordPerplexity,
        byte_perplexity: r.bytePerplexity,
        bits_per_byte: r.bitsPerByte,
      };
      await writeScores(c.output, 'perplexity.json', {
        task: 'perplexity',
        model: c.model,
        adapter: c.adapter ?? null,
        documents: texts.length,
        tokens: r.tokens,
        words: r.words,
        bytes: r.bytes,
        scores,
      });
      ctx.out(`perplexity: ${texts.length} documents, ${r.tokens} tokens: ${scoreLine(scores)}`);
      return 0;
    } finally {
      loaded.dispose();
    }
  },
};
