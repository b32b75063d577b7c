// `loralab tokenizer train`: a byte-level BPE tokenizer from text files and/or built-in corpora.
import type { KeyTemplate } from '../config-file.js';
import { ConfigError, UsageError } from '../errors.js';
import { formatCount, formatDuration } from '../progress.js';
import { buildConfig, type CommandSpec, listFlag, numberFlag, stringFlag } from './command.js';
import { CORPORA, CORPUS_HELP, type CorpusName, corpusSource, fileSource, formatOfPath } from './corpora.js';

/** Keys of a `tokenizer train` config: @loralab/tokenizer's TrainBpeOptions plus where the text comes from. */
const TEMPLATE: KeyTemplate = {
  output: null,
  files: null,
  field: null,
  corpora: null,
  count: null,
  seed: null,
  vocabSize: null,
  minFrequency: null,
  maxTokenLength: null,
  bosToken: null,
  eosToken: null,
  padToken: null,
  additionalSpecialTokens: null,
  addBosToken: null,
  addEosToken: null,
  chatTemplate: null,
  modelMaxLength: null,
};

export const tokenizerTrain: CommandSpec = {
  path: ['tokenizer', 'train'],
  summary: 'train a byte-level BPE tokenizer (Hugging Face tokenizer.json) on files or built-in corpora',
  usage: '[options] --output DIR [FILE...]',
  description:
    'Text files are read line by line (.gz allowed). JSONL, JSON, Parquet and Arrow files are read as records: the\ntext is --field, else "text", else for instruction records (messages, conversations, alpaca, ...) the content of\nevery turn; a record with none of these is an error (raw JSON is never trained on). With --corpus, the built-in\ncorpora are added after the files.\nConfig keys: output, files, field, corpora, count, seed, and the TrainBpeOptions of @loralab/tokenizer\n(vocabSize, minFrequency, maxTokenLength, bosToken, eosToken, padToken, additionalSpecialTokens, addBosToken,\naddEosToken, chatTemplate, modelMaxLength).',
  options: {
    output: {
      type: 'string',
      short: 'o',
      value: 'DIR',
      description: 'folder for tokenizer.json and tokenizer_config.json',
    },
    field: {
      type: 'string',
      value: 'NAME',
      description: 'JSONL/JSON/Parquet/Arrow inputs: the record field holding the text',
    },
    corpus: { type: 'string', multiple: true, value: 'NAME', description: `${CORPUS_HELP}; repeatable` },
    count: {
      type: 'string',
      value: 'N',
      description: 'records per generated corpus (default 2000 math/code, 200 tasks)',
    },
    seed: { type: 'string', value: 'N', description: 'seed of the generated corpora (default 0)' },
    'vocab-size': {
      type: 'string',
      value: 'N',
      description: 'vocabulary size, special tokens included (default 8192)',
    },
    'min-frequency': {
      type: 'string',
      value: 'N',
      description: 'merge only pairs seen this often (default 2)',
    },
  },
  config: true,
  positionals: { min: 0, max: Infinity },
  examples: [
    'loralab tokenizer train --corpus brown --corpus gsm8k-style --vocab-size 4096 --output tok/',
    'loralab tokenizer train notes/*.txt --vocab-size 2000 --output tok/',
    'loralab tokenizer train train.parquet --field content --vocab-size 8000 --output tok/',
    'loralab tokenizer train -c tokenizer.yaml --set minFrequency=3',
  ],
  async run(ctx) {
    const corpora = listFlag(ctx, 'corpus');
    const flags = {
      output: stringFlag(ctx, 'output'),
      files: ctx.positionals.length ? ctx.positionals : undefined,
      field: stringFlag(ctx, 'field'),
      corpora,
      count: numberFlag(ctx, 'count', { integer: true, min: 1 }),
      seed: numberFlag(ctx, 'seed', { integer: true }),
      vocabSize: numberFlag(ctx, 'vocab-size', { integer: true, min: 1 }),
      minFrequency: numberFlag(ctx, 'min-frequency', { integer: true, min: 0 }),
    };
    const config = buildConfig(ctx, { flags, template: TEMPLATE });
    const {
      output,
      files,
      field,
      corpora: names,
      count,
      seed,
      ...options
    } = config as Record<string, unknown> & {
      output?: string;
      files?: string[];
      field?: string;
      corpora?: string[];
      count?: number;
      seed?: number;
    };
    if (!output) throw new UsageError('missing --output (or "output" in the config)', 'tokenizer train');
    for (const name of names ?? []) {
      if (!CORPORA.includes(name as CorpusName)) {
        throw new ConfigError('corpora', `unknown corpus '${name}'; expected ${CORPORA.join(', ')}`);
      }
    }
    if (!files?.length && !names?.length) {
      throw new UsageError('no input: give text files or --corpus NAME', 'tokenizer train');
    }
    const { DataError, instructColumns, readSource, recordText, trainingText } = await import(
      '@loralab/data'
    );
    const { trainBpeTokenizer } = await import('@loralab/tokenizer');
    // Text files go to the trainer line by line; record files are parsed and their text fields used.
    const textFiles = (files ?? []).filter((f) => (formatOfPath(f) ?? 'text') === 'text');
    const recordFiles = (files ?? []).filter((f) => !textFiles.includes(f));
    if (field !== undefined && recordFiles.length === 0) {
      throw new UsageError('--field applies to JSONL, JSON, Parquet or Arrow inputs only', 'tokenizer train');
    }
    async function* recordTexts(): AsyncGenerator<string> {
      for (const file of recordFiles) {
        const source = fileSource([file], undefined, field !== undefined ? { field } : {});
        // Parquet reads only the text column, or the columns of the instruction layout.
        const columns =
          field !== undefined
            ? [field]
            : (available: string[]) =>
                available.includes('text') ? ['text'] : instructColumns('auto', available);
        for await (const r of readSource(source, { columns })) {
          const text = trainingText(r.value, field !== undefined ? { field } : {});
          if (text instanceof Error) {
            throw new DataError(
              `${text.message}; choose the text field with --field NAME (or "field" in the config)`,
              { file: r.file, line: r.line },
            );
          }
          yield text;
        }
      }
    }
    async function* corpusTexts(): AsyncGenerator<string> {
      yield* recordTexts();
      for (const name of names ?? []) {
        const source = corpusSource(name as CorpusName, {
          ...(count !== undefined && { count }),
          ...(seed !== undefined && { seed }),
        });
        for await (const r of readSource(source)) {
          const text = recordText(source, r.value);
          if (typeof text === 'string') yield text;
        }
      }
    }
    const t0 = performance.now();
    let stats = { texts: 0, words: 0 };
    ctx.reporter.progress('reading texts', 0, null);
    const tokenizer = await trainBpeTokenizer({
      ...(options as object),
      ...(textFiles.length && { files: textFiles }),
      ...((names?.length || recordFiles.length) && { texts: corpusTexts() }),
      onProgress: (p) => {
        stats = p;
        ctx.reporter.progress('reading texts', p.texts, null);
      },
    });
    ctx.reporter.done('reading texts');
    await tokenizer.save(output);
    const seconds = (performance.now() - t0) / 1000;
    ctx.out(
      `tokenizer: vocabulary ${tokenizer.vocabSize} from ${formatCount(stats.texts)} texts (${formatCount(stats.words)} distinct words) in ${formatDuration(seconds)} -> ${output}`,
    );
    return 0;
  },
};
