// `loralab data prepare`: a corpus or instruction set to tokenized Arrow shards with a manifest (@loralab/data).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InstructLayout, SourceConfig, WriteDatasetConfig } from '@loralab/data';
import { UsageError } from '../errors.js';
import { formatCount, formatDuration } from '../progress.js';
import { buildConfig, type CommandSpec, choiceFlag, listFlag, numberFlag, stringFlag } from './command.js';
import { CORPORA, CORPUS_HELP, type CorpusName, corpusSource, fileSource, INPUT_FORMATS } from './corpora.js';

/** @loralab/data's INSTRUCT_LAYOUTS, spelled out here so that the help needs no import of the package (typed against it). */
const INSTRUCT_LAYOUT_NAMES = [
  'messages',
  'sharegpt',
  'alpaca',
  'instruction-response',
  'input-output',
  'prompt-completion',
] as const satisfies readonly InstructLayout[];

/**
 * Chat records (Alpaca) for the generated instruction corpora, written once under the output folder so that the
 * dataset's source is a stable file (a rerun resumes instead of being refused for another source).
 */
async function chatRecordsFile(source: SourceConfig, outDir: string): Promise<SourceConfig> {
  if (source.kind !== 'math' && source.kind !== 'code') return source;
  const { readSource } = await import('@loralab/data');
  const lines: string[] = [];
  for await (const { value } of readSource(source)) {
    const r = value as Record<string, string>;
    const record =
      source.kind === 'math'
        ? { instruction: r.question, output: r.answer }
        : {
            instruction: `Complete this Python function.\n\n${r.prompt}`,
            output: `${r.prompt}${r.canonical_solution}`,
          };
    lines.push(JSON.stringify(record));
  }
  const dir = join(outDir, '.loralab-source');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${source.kind}-${source.split}-${source.count}-${source.seed ?? 0}.jsonl`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return { kind: 'jsonl', paths: [file] };
}

export const dataPrepare: CommandSpec = {
  path: ['data', 'prepare'],
  summary: 'tokenize text/JSONL/JSON/Parquet/Arrow files or a built-in corpus into Arrow shards',
  usage: '[options] --tokenizer DIR --output DIR (INPUT... | --corpus NAME)',
  description: `Writes the Hugging Face save_to_disk layout (data-0000i-of-0000N.arrow, state.json, dataset_info.json)
plus loralab's manifest.json; a rerun after a crash resumes. --kind chat reads instruction records (messages or
conversations of {role, content}, ShareGPT {from, value}, alpaca, instruction/response, input/output,
prompt/completion; --layout, or "format" in the config: a layout or a LLaMA-Factory-style column mapping
{formatting, columns, tags}) and stores a loss mask (the generated gsm8k-style and humaneval-style corpora become
Alpaca records). Parquet: every common codec; only the columns used are read.
The config is @loralab/data's WriteDatasetConfig (source, kind, shardTokens, lossMask, maxLength, truncation, ...)
plus "tokenizer"; "outDir" is --output.`,
  options: {
    tokenizer: { type: 'string', short: 't', value: 'DIR', description: 'tokenizer folder (tokenizer.json)' },
    output: { type: 'string', short: 'o', value: 'DIR', description: 'dataset folder to write' },
    corpus: { type: 'string', value: 'NAME', description: CORPUS_HELP },
    format: {
      type: 'string',
      value: 'FMT',
      description: `input format: ${INPUT_FORMATS.join(', ')} (default by extension)`,
    },
    field: { type: 'string', value: 'NAME', description: 'record field holding the text (default "text")' },
    unit: {
      type: 'string',
      value: 'UNIT',
      description: 'text files: one document per file, line or paragraph',
    },
    kind: {
      type: 'string',
      value: 'KIND',
      description: 'text (continued pretraining, default) or chat (instructions)',
    },
    split: { type: 'string', value: 'SPLIT', description: 'generated corpora: train (default) or test' },
    count: { type: 'string', value: 'N', description: 'generated corpora: number of records' },
    seed: { type: 'string', value: 'N', description: 'generated corpora: seed (default 0)' },
    categories: { type: 'string', value: 'a,b,..', description: 'brown: categories a..r (default all)' },
    'shard-tokens': {
      type: 'string',
      value: 'N',
      description: 'close a shard after this many tokens (default 2^25)',
    },
    layout: {
      type: 'string',
      value: 'NAME',
      description: `chat: record layout, ${['auto', ...INSTRUCT_LAYOUT_NAMES].join(', ')} (default auto)`,
    },
    'loss-mask': {
      type: 'string',
      value: 'WHICH',
      description: 'chat: assistant (default), last-assistant or all',
    },
    'max-length': { type: 'string', value: 'N', description: 'chat: longest conversation in tokens' },
    truncation: {
      type: 'string',
      value: 'HOW',
      description: 'chat, with --max-length: right, drop or error',
    },
    'on-bad-record': {
      type: 'string',
      value: 'POLICY',
      description: 'fail (default: error with file and line) or skip',
    },
  },
  config: true,
  positionals: { min: 0, max: Infinity },
  examples: [
    'loralab data prepare --tokenizer tok/ --corpus brown --output data/brown',
    'loralab data prepare --tokenizer tok/ --corpus gsm8k-style --kind chat --count 5000 --output data/math-ift',
    'loralab data prepare --tokenizer tok/ corpus/*.jsonl.gz --field content --output data/code',
    'loralab data prepare -c prepare.yaml --set shardTokens=1000000',
  ],
  async run(ctx) {
    const corpus = choiceFlag(ctx, 'corpus', CORPORA);
    if (corpus && ctx.positionals.length) {
      throw new UsageError('give input files or --corpus, not both', 'data prepare');
    }
    let source: SourceConfig | undefined;
    if (corpus) {
      source = corpusSource(corpus as CorpusName, {
        split: choiceFlag(ctx, 'split', ['train', 'test'] as const),
        count: numberFlag(ctx, 'count', { integer: true, min: 1 }),
        seed: numberFlag(ctx, 'seed', { integer: true }),
        categories: listFlag(ctx, 'categories'),
      });
    } else if (ctx.positionals.length) {
      source = fileSource(ctx.positionals, choiceFlag(ctx, 'format', INPUT_FORMATS), {
        field: stringFlag(ctx, 'field'),
        unit: choiceFlag(ctx, 'unit', ['file', 'line', 'paragraph'] as const),
      });
    }
    const flags = {
      tokenizer: stringFlag(ctx, 'tokenizer'),
      outDir: stringFlag(ctx, 'output'),
      source,
      kind: choiceFlag(ctx, 'kind', ['text', 'chat'] as const),
      format: choiceFlag(ctx, 'layout', ['auto', ...INSTRUCT_LAYOUT_NAMES] as const),
      shardTokens: numberFlag(ctx, 'shard-tokens', { integer: true, min: 1 }),
      lossMask: choiceFlag(ctx, 'loss-mask', ['assistant', 'last-assistant', 'all'] as const),
      maxLength: numberFlag(ctx, 'max-length', { integer: true, min: 1 }),
      truncation: choiceFlag(ctx, 'truncation', ['right', 'drop', 'error'] as const),
      onBadRecord: choiceFlag(ctx, 'on-bad-record', ['fail', 'skip'] as const),
    };
    const { tokenizer: tokenizerDir, ...config } = buildConfig(ctx, {
      flags,
      replace: ['source'],
    }) as unknown as {
      tokenizer?: string;
    } & WriteDatasetConfig & { source: SourceConfig };
    if (!tokenizerDir)
      throw new UsageError('missing --tokenizer (or "tokenizer" in the config)', 'data prepare');
    if (!config.outDir) throw new UsageError('missing --output (or "outDir" in the config)', 'data prepare');
    if (!config.source) throw new UsageError('no input: give input files or --corpus NAME', 'data prepare');
    const { writeTokenizedDataset } = await import('@loralab/data');
    const { Tokenizer } = await import('@loralab/tokenizer');
    const tokenizer = await Tokenizer.fromPretrained(tokenizerDir);
    if (config.kind === 'chat') config.source = await chatRecordsFile(config.source, config.outDir);
    const t0 = performance.now();
    let tokens = 0;
    ctx.reporter.progress('tokenizing', 0, null);
    const result = await writeTokenizedDataset(tokenizer, config, {
      onShard: (s) => {
        tokens += s.tokens;
        ctx.reporter.progress('tokenizing', tokens, null);
      },
    });
    ctx.reporter.done('tokenizing');
    const seconds = (performance.now() - t0) / 1000;
    const m = result.manifest;
    if (!m) {
      ctx.out(
        `rank ${result.rank} of ${result.worldSize} done (${result.written} shards); waiting for the other ranks`,
      );
      return 0;
    }
    const skipped = m.source.skipped ? `, ${m.source.skipped} bad records skipped` : '';
    const truncated =
      m.truncated.dropped || m.truncated.cut
        ? `, truncated: ${m.truncated.cut} cut, ${m.truncated.dropped} dropped`
        : '';
    ctx.out(
      `dataset (${m.kind}): ${m.totals.rows} rows, ${formatCount(m.totals.tokens)} tokens in ${m.totals.shards} shard${m.totals.shards === 1 ? '' : 's'}${skipped}${truncated}; ${result.written} written, ${result.resumed} resumed, ${formatDuration(seconds)} -> ${config.outDir}`,
    );
    return 0;
  },
};
