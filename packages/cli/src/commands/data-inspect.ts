// `loralab data inspect`: a tokenized dataset's manifest and decoded examples with trained spans marked.
import { UsageError } from '../errors.js';
import { formatCount } from '../progress.js';
import { booleanFlag, type CommandSpec, choiceFlag, numberFlag, requiredFlag } from './command.js';

export const dataInspect: CommandSpec = {
  path: ['data', 'inspect'],
  summary: 'show a tokenized dataset and decoded examples with trained spans in ⟦ ⟧ (masked text outside)',
  usage: '[options] --tokenizer DIR DATASET',
  description: `Without --seq-len, prints stored rows (--row, --rows) with their loss masks. With --seq-len, prints samples
of the first batch the training loader yields (--mode pack or rows), where a token is trained when its label is
not -100: what the trainer will actually see.`,
  options: {
    tokenizer: {
      type: 'string',
      short: 't',
      value: 'DIR',
      description: 'the tokenizer the dataset was made with',
    },
    row: { type: 'string', value: 'N', description: 'first row to show (default 0)' },
    rows: { type: 'string', value: 'N', description: 'how many rows or samples to show (default 1)' },
    'seq-len': {
      type: 'string',
      value: 'N',
      description: 'show loader samples of this length instead of rows',
    },
    mode: {
      type: 'string',
      value: 'MODE',
      description: 'loader mode with --seq-len: pack (default) or rows',
    },
    color: { type: 'boolean', description: 'trained spans in green, masked dim (instead of ⟦ ⟧)' },
  },
  positionals: { min: 1, max: 1 },
  examples: [
    'loralab data inspect --tokenizer tok/ data/math-ift',
    'loralab data inspect --tokenizer tok/ data/math-ift --seq-len 256 --mode rows --rows 2',
  ],
  async run(ctx) {
    const dir = ctx.positionals[0]!;
    const tokenizerDir = requiredFlag(ctx, 'tokenizer');
    const first = numberFlag(ctx, 'row', { integer: true, min: 0 }) ?? 0;
    const count = numberFlag(ctx, 'rows', { integer: true, min: 1 }) ?? 1;
    const seqLen = numberFlag(ctx, 'seq-len', { integer: true, min: 1 });
    const mode = choiceFlag(ctx, 'mode', ['pack', 'rows'] as const);
    if (mode && seqLen === undefined) throw new UsageError('--mode needs --seq-len', 'data inspect');
    const options = { color: booleanFlag(ctx, 'color') };
    const {
      DataLoader,
      DataError,
      formatBatchExample,
      formatDatasetExample,
      readManifest,
      tokenizerIdentity,
    } = await import('@loralab/data');
    const { Tokenizer } = await import('@loralab/tokenizer');
    const manifest = await readManifest(dir);
    const tokenizer = await Tokenizer.fromPretrained(tokenizerDir);
    if (tokenizerIdentity(tokenizer).sha256 !== manifest.tokenizer.sha256) {
      throw new DataError(
        `the dataset was written with another tokenizer (sha256 ${manifest.tokenizer.sha256.slice(0, 12)}…, this one ${tokenizerIdentity(tokenizer).sha256.slice(0, 12)}…)`,
        { file: tokenizerDir },
      );
    }
    const t = manifest.totals;
    ctx.out(
      `${dir}: ${manifest.kind} dataset, ${t.rows} rows, ${formatCount(t.tokens)} tokens (${manifest.columns.input_ids}), ${t.shards} shard${t.shards === 1 ? '' : 's'}, source ${JSON.stringify(manifest.source.config)}`,
    );
    if (seqLen === undefined) {
      if (first >= t.rows)
        throw new UsageError(`--row ${first} is past the last row (${t.rows - 1})`, 'data inspect');
      for (let r = first; r < Math.min(t.rows, first + count); r++) {
        ctx.out(`\n--- row ${r}: ${await formatDatasetExample(dir, tokenizer, r, options)}`);
      }
      return 0;
    }
    const loader = await DataLoader.open(dir, {
      seqLen,
      batchSize: count,
      mode: mode ?? 'pack',
      shuffle: false,
      epochs: 1,
    });
    const next = await loader.batches().next();
    if (next.done) throw new DataError(`the dataset holds no full sample of ${seqLen} tokens`, { file: dir });
    for (let i = 0; i < Math.min(count, next.value.batchSize); i++) {
      ctx.out(
        `\n--- sample ${i} of the first batch: ${await formatBatchExample(tokenizer, next.value, i, options)}`,
      );
    }
    return 0;
  },
};
