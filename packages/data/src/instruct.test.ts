import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { smallTokenizer, tmp } from '../test/helpers.js';
import { type Batch, DataLoader, IGNORE_INDEX } from './data-loader.js';
import { DataError } from './errors.js';
import { formatBatchExample, formatDatasetExample } from './format-example.js';
import { generateMathProblems } from './gsm8k-generator.js';
import { detectInstructFormat, lossMaskFor, toChatMessages } from './instruct-formats.js';
import { readManifest } from './manifest.js';
import { readShard } from './shard-file.js';
import { writeTokenizedDataset } from './write-dataset.js';

const SHARED = join(import.meta.dirname, '../../../../shared/data/instruct');
const hasShared = existsSync(SHARED);

const SHAREGPT = {
  conversations: [
    { from: 'system', value: 'You are an AI assistant.' },
    { from: 'human', value: 'What is the meaning of life?' },
    { from: 'gpt', value: 'The meaning of life is 42.' },
    { from: 'human', value: "That's ridiculous." },
    { from: 'gpt', value: 'I agree.' },
  ],
};

async function firstRow(dir: string) {
  const m = await readManifest(dir);
  const d = await readShard(join(dir, m.shards[0]!.file), m.shards[0]!);
  const [a, b] = [d.offsets[0]!, d.offsets[1]!];
  return { ids: Array.from(d.values.subarray(a, b)), mask: Array.from(d.mask!.subarray(a, b)), manifest: m };
}

describe('instruction formats', () => {
  it('turns Alpaca, ShareGPT and messages records into chat messages', () => {
    expect(toChatMessages({ instruction: 'Add.', input: '1 2', output: '3' }, 'auto')).toEqual([
      { role: 'user', content: 'Add.\n\n1 2' },
      { role: 'assistant', content: '3' },
    ]);
    expect(
      toChatMessages({ instruction: 'Hi', input: '', output: 'Yo', system: 'Be brief.' }, 'alpaca'),
    ).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Yo' },
    ]);
    expect((toChatMessages(SHAREGPT, 'auto') as Array<{ role: string }>).map((m) => m.role)).toEqual([
      'system',
      'user',
      'assistant',
      'user',
      'assistant',
    ]);
    expect(detectInstructFormat({ messages: [] })).toBe('messages');
    expect(toChatMessages({ conversations: [{ from: 'robot', value: 'x' }] }, 'auto')).toBeInstanceOf(Error);
    expect((toChatMessages({ prompt: 'x' }, 'auto') as Error).message).toMatch(
      /cannot tell the instruction format/,
    );
  });

  it('builds loss masks by strategy', () => {
    const spans = [
      { start: 2, end: 4 },
      { start: 6, end: 7 },
    ];
    expect(Array.from(lossMaskFor('assistant', 8, spans))).toEqual([0, 0, 1, 1, 0, 0, 1, 0]);
    expect(Array.from(lossMaskFor('last-assistant', 8, spans))).toEqual([0, 0, 0, 0, 0, 0, 1, 0]);
    expect(Array.from(lossMaskFor('all', 3, spans))).toEqual([1, 1, 1]);
  });
});

describe('instruction datasets', () => {
  it('writes conversations with loss masks by strategy and prints them with trained spans marked', async () => {
    const tok = await smallTokenizer();
    const dir = await tmp();
    const file = join(dir, 'chat.json');
    writeFileSync(file, JSON.stringify([SHAREGPT]));
    const decodeTrained = async (ids: number[], mask: number[]) =>
      Promise.all(
        ids
          .map((_, i) => i)
          .filter((i) => mask[i] === 1 && (i === 0 || mask[i - 1] === 0))
          .map(async (start) => {
            let end = start;
            while (mask[end] === 1) end++;
            return tok.decode(ids.slice(start, end));
          }),
      );
    const out: Record<string, string[]> = {};
    for (const lossMask of ['assistant', 'last-assistant', 'all'] as const) {
      const outDir = join(dir, lossMask);
      await writeTokenizedDataset(tok, {
        outDir,
        source: { kind: 'json', paths: [file] },
        kind: 'chat',
        lossMask,
      });
      const { ids, mask, manifest } = await firstRow(outDir);
      expect(manifest.columns).toEqual({ input_ids: 'uint16', loss_mask: 'uint8' });
      out[lossMask] = await decodeTrained(ids, mask);
    }
    expect(out.assistant).toEqual(['The meaning of life is 42.<|im_end|>', 'I agree.<|im_end|>']);
    expect(out['last-assistant']).toEqual(['I agree.<|im_end|>']);
    expect(out.all).toHaveLength(1);
    const printed = await formatDatasetExample(join(dir, 'assistant'), tok);
    expect(printed).toContain(
      '<|im_start|>assistant\n⟦The meaning of life is 42.<|im_end|>⟧\n<|im_start|>user',
    );
    expect(printed.split('\n')[0]).toMatch(/^\d+ tokens, \d+ trained \(\d+\.\d%\), trained spans in ⟦ ⟧$/);
  });

  it('encodes on worker threads to the same bytes as in one thread', async () => {
    const tok = await smallTokenizer();
    const dir = await tmp();
    const file = join(dir, 'math.jsonl');
    const lines = [...generateMathProblems({ split: 'train', count: 60, seed: 4 })].map((p) =>
      JSON.stringify({
        messages: [
          { role: 'user', content: p.question },
          { role: 'assistant', content: p.answer },
        ],
      }),
    );
    writeFileSync(file, `${lines.join('\n')}\n`);
    const source = { kind: 'jsonl' as const, paths: [file] };
    const files = async (chatThreads: number) => {
      const out = join(dir, `t${chatThreads}`);
      await writeTokenizedDataset(tok, {
        outDir: out,
        source,
        kind: 'chat',
        encodeBatchSize: 7,
        shardTokens: 3000,
        chatThreads,
      });
      return Object.fromEntries(
        readdirSync(out)
          .filter((f) => !f.startsWith('.'))
          .map((f) => [f, readFileSync(join(out, f), 'base64')]),
      );
    };
    const one = await files(0);
    expect(Object.keys(one).length).toBeGreaterThan(4);
    expect(await files(2)).toEqual(one);
  });

  it('makes truncation explicit: cut, drop and count, or raise', async () => {
    const tok = await smallTokenizer();
    const dir = await tmp();
    const file = join(dir, 'chat.jsonl');
    const long = {
      messages: [
        { role: 'user', content: 'word '.repeat(80) },
        { role: 'assistant', content: 'ok' },
      ],
    };
    const short = {
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'ok' },
      ],
    };
    writeFileSync(file, `${JSON.stringify(long)}\n${JSON.stringify(short)}\n`);
    const source = { kind: 'jsonl' as const, paths: [file] };
    const cut = (
      await writeTokenizedDataset(tok, {
        outDir: join(dir, 'r'),
        source,
        kind: 'chat',
        maxLength: 30,
        truncation: 'right',
      })
    ).manifest!;
    expect(cut.truncated).toEqual({ dropped: 0, cut: 1 });
    expect(cut.totals.rows).toBe(2);
    expect(cut.shards[0]!.tokens).toBeLessThanOrEqual(60);
    const drop = (
      await writeTokenizedDataset(tok, {
        outDir: join(dir, 'd'),
        source,
        kind: 'chat',
        maxLength: 30,
        truncation: 'drop',
      })
    ).manifest!;
    expect(drop.truncated).toEqual({ dropped: 1, cut: 0 });
    expect(drop.totals.rows).toBe(1);
    await expect(
      writeTokenizedDataset(tok, {
        outDir: join(dir, 'e'),
        source,
        kind: 'chat',
        maxLength: 30,
        truncation: 'error',
      }),
    ).rejects.toThrow(`${file}:1: conversation of`);
  });

  it('loads rows padded with labels masked outside assistant turns', async () => {
    const tok = await smallTokenizer();
    const dir = await tmp();
    const file = join(dir, 'chat.json');
    writeFileSync(file, JSON.stringify([SHAREGPT, { instruction: 'Say yes.', output: 'Yes.' }]));
    await writeTokenizedDataset(tok, { outDir: dir, source: { kind: 'json', paths: [file] }, kind: 'chat' });
    const loader = await DataLoader.open(dir, { mode: 'rows', seqLen: 256, batchSize: 2, shuffle: false });
    const batch = (await loader.batches().next()).value as Batch;
    const { ids, mask } = await firstRow(dir);
    const T = 256;
    expect(ids.length).toBeLessThan(T);
    expect(Array.from(batch!.inputIds.subarray(0, ids.length))).toEqual(ids);
    expect(batch!.attentionMask.subarray(0, T).reduce((s: number, x: number) => s + x, 0)).toBe(ids.length);
    expect(Array.from(batch!.inputIds.subarray(ids.length, T)).every((x) => x === tok.pad!.id)).toBe(true);
    const want = Array.from({ length: T }, (_, t) =>
      t + 1 < ids.length && mask[t + 1] === 1 ? ids[t + 1] : IGNORE_INDEX,
    );
    expect(Array.from(batch!.labels.subarray(0, T))).toEqual(want);
    const printed = await formatBatchExample(tok, batch!, 1);
    expect(printed).toContain('<|im_start|>assistant\n⟦Yes.<|im_end|>⟧');
  });

  it('packs conversations with their loss masks applied to the labels', async () => {
    const tok = await smallTokenizer();
    const dir = await tmp();
    const file = join(dir, 'chat.json');
    writeFileSync(file, JSON.stringify([SHAREGPT, { instruction: 'Say yes.', output: 'Yes.' }, SHAREGPT]));
    await writeTokenizedDataset(tok, { outDir: dir, source: { kind: 'json', paths: [file] }, kind: 'chat' });
    const m = await readManifest(dir);
    const d = await readShard(join(dir, m.shards[0]!.file), m.shards[0]!);
    const T = 32;
    const loader = await DataLoader.open(dir, { seqLen: T, batchSize: 64, shuffle: false });
    const batch = (await loader.batches().next()).value as Batch;
    expect(batch.batchSize).toBe(Math.floor(d.values.length / (T + 1)));
    const want: number[] = [];
    for (let k = 0; k < batch.batchSize; k++) {
      for (let t = 0; t < T; t++) {
        const g = k * (T + 1) + t + 1;
        want.push(d.mask![g] === 1 ? d.values[g]! : IGNORE_INDEX);
      }
    }
    expect(Array.from(batch.labels)).toEqual(want);
    expect(want.filter((x) => x === IGNORE_INDEX).length).toBeGreaterThan(T);
  });

  it.skipIf(!hasShared)(
    'reads the ../shared samples of all three formats (skipped when ../shared is absent)',
    async () => {
      const tok = await smallTokenizer();
      const dir = await tmp();
      const alpaca = (
        await writeTokenizedDataset(tok, {
          outDir: join(dir, 'alpaca'),
          source: { kind: 'json', paths: [join(SHARED, 'alpaca_en_demo.json')] },
          kind: 'chat',
          format: 'alpaca',
          encodeBatchSize: 256,
        })
      ).manifest!;
      expect(alpaca.totals.rows).toBe(999);
      const sharegpt = (
        await writeTokenizedDataset(tok, {
          outDir: join(dir, 'sharegpt'),
          source: { kind: 'json', paths: [join(SHARED, 'chat_tiny.json')] },
          kind: 'chat',
        })
      ).manifest!;
      expect(sharegpt.totals.rows).toBe(1);
      const messages = (
        await writeTokenizedDataset(tok, {
          outDir: join(dir, 'messages'),
          source: { kind: 'jsonl', paths: [join(SHARED, 'multi_turn_chat.jsonl')] },
          kind: 'chat',
          format: 'messages',
        })
      ).manifest!;
      expect(messages.totals.rows).toBe(10);
      const printed = await formatDatasetExample(join(dir, 'messages'), tok, 0);
      expect(printed).toContain('<|im_start|>assistant\n⟦Certainly!');
      await expect(
        writeTokenizedDataset(tok, {
          outDir: join(dir, 'bad'),
          source: { kind: 'json', paths: [join(SHARED, 'malformatted_data.json')] },
          kind: 'chat',
        }),
      ).rejects.toThrow(DataError);
    },
  );
});
