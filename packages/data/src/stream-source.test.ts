import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { smallTokenizer, tmp } from '../test/helpers.js';
import { brownDocument, brownFiles } from './brown.js';
import { ConfigError, DataError } from './errors.js';
import { generateMathProblems } from './gsm8k-generator.js';
import type { StreamSource } from './stream-source.js';
import { writeTokenizedDataset } from './write-dataset.js';

/** The data files of a dataset (not the manifest, whose source config differs between routes). */
function shardsOf(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.endsWith('.arrow'))
      .map((f) => [f, readFileSync(join(dir, f)).toString('base64')]),
  );
}

async function brownTexts(): Promise<string[]> {
  return Promise.all((await brownFiles(['r'])).map(brownDocument));
}

describe('stream sources', () => {
  it('write the same shards as the same documents read from a JSONL file, and name the stream in the manifest', async () => {
    const tok = await smallTokenizer();
    const texts = await brownTexts();
    const root = await tmp();
    writeFileSync(join(root, 'c.jsonl'), `${texts.map((text) => JSON.stringify({ text })).join('\n')}\n`);
    const viaJsonl = join(root, 'jsonl');
    await writeTokenizedDataset(tok, {
      outDir: viaJsonl,
      source: { kind: 'jsonl', paths: [join(root, 'c.jsonl')] },
      shardTokens: 10_000,
    });
    async function* documents() {
      for (const t of texts) yield t;
    }
    const viaStream = join(root, 'stream');
    const { manifest } = await writeTokenizedDataset(tok, {
      outDir: viaStream,
      source: { kind: 'stream', name: 'brown-r', records: documents },
      shardTokens: 10_000,
    });
    expect(Object.keys(shardsOf(viaStream)).length).toBeGreaterThan(2);
    expect(shardsOf(viaStream)).toEqual(shardsOf(viaJsonl));
    expect(manifest!.source).toMatchObject({ config: { kind: 'stream', name: 'brown-r' }, records: 9 });
    // Object records give their field; a plain array is a stream too.
    const viaObjects = join(root, 'objects');
    await writeTokenizedDataset(tok, {
      outDir: viaObjects,
      source: { kind: 'stream', name: 'brown-r', records: texts.map((body) => ({ body })), field: 'body' },
      shardTokens: 10_000,
    });
    expect(shardsOf(viaObjects)).toEqual(shardsOf(viaJsonl));
  });

  it('write chat records with loss masks as the JSONL route does', async () => {
    const tok = await smallTokenizer();
    const records = [...generateMathProblems({ split: 'train', count: 60, seed: 3 })].map((p) => ({
      instruction: p.question,
      output: p.answer,
    }));
    const root = await tmp();
    writeFileSync(join(root, 'm.jsonl'), `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const common = { kind: 'chat' as const, shardTokens: 2_000, chatThreads: 0, encodeBatchSize: 16 };
    await writeTokenizedDataset(tok, {
      ...common,
      outDir: join(root, 'a'),
      source: { kind: 'jsonl', paths: [join(root, 'm.jsonl')] },
    });
    await writeTokenizedDataset(tok, {
      ...common,
      outDir: join(root, 'b'),
      source: { kind: 'stream', name: 'math', records: () => records.values() },
    });
    expect(Object.keys(shardsOf(join(root, 'b'))).length).toBeGreaterThan(1);
    expect(shardsOf(join(root, 'b'))).toEqual(shardsOf(join(root, 'a')));
  });

  it('are read lazily: the writer holds at most a few encode batches of records ahead of the shards', async () => {
    const tok = await smallTokenizer();
    const base = await brownTexts();
    let yielded = 0;
    let worst = 0;
    async function* documents() {
      for (let i = 0; i < 200; i++) {
        yielded++;
        yield base[i % base.length]!.slice(0, 2_000 + (i % 7) * 100);
      }
    }
    let rowsWritten = 0;
    const { manifest } = await writeTokenizedDataset(
      tok,
      {
        outDir: await tmp(),
        source: { kind: 'stream', name: 'lazy', records: documents },
        shardTokens: 3_000,
        encodeBatchSize: 4,
      },
      {
        onShard: (s) => {
          rowsWritten += s.rows;
          worst = Math.max(worst, yielded - rowsWritten);
        },
      },
    );
    expect(manifest!.totals.rows).toBe(200);
    expect(manifest!.totals.shards).toBeGreaterThan(25);
    // One batch being read, one being encoded, and the rows of the open shard (a shard is ~3 documents).
    expect(worst).toBeLessThanOrEqual(4 + 4 + 4);
  });

  it('resume after a crash from a reopened stream, byte-identical to an uninterrupted run', async () => {
    const tok = await smallTokenizer();
    const texts = await brownTexts();
    let opened = 0;
    const source: StreamSource = {
      kind: 'stream',
      name: 'brown-r',
      records: () => {
        opened++;
        return texts.values();
      },
    };
    const whole = await tmp();
    await writeTokenizedDataset(tok, { outDir: whole, source, shardTokens: 8_000, encodeBatchSize: 2 });
    const crashed = await tmp();
    let n = 0;
    await expect(
      writeTokenizedDataset(
        tok,
        { outDir: crashed, source, shardTokens: 8_000, encodeBatchSize: 2 },
        {
          onShard: () => {
            if (++n === 2) throw new Error('simulated crash');
          },
        },
      ),
    ).rejects.toThrow('simulated crash');
    const result = await writeTokenizedDataset(tok, {
      outDir: crashed,
      source,
      shardTokens: 8_000,
      encodeBatchSize: 2,
    });
    expect(result.resumed).toBe(2);
    expect(opened).toBe(3);
    expect(shardsOf(crashed)).toEqual(shardsOf(whole));
    // Another stream name is another dataset: refused in a folder holding this one.
    await expect(
      writeTokenizedDataset(tok, {
        outDir: crashed,
        source: { ...source, name: 'other' },
        shardTokens: 8_000,
      }),
    ).rejects.toThrow(DataError);
  });

  it('split records i % worldSize between ranks', async () => {
    const tok = await smallTokenizer();
    const texts = await brownTexts();
    const dir = await tmp();
    const source: StreamSource = { kind: 'stream', name: 'brown-r', records: () => texts.values() };
    const r0 = await writeTokenizedDataset(tok, { outDir: dir, source, rank: 0, worldSize: 2 });
    expect(r0.manifest).toBeNull();
    const r1 = await writeTokenizedDataset(tok, { outDir: dir, source, rank: 1, worldSize: 2 });
    expect(r1.manifest!.totals.rows).toBe(texts.length);
    expect(r1.manifest!.source.records).toBe(texts.length);
  });

  it('report bad records with the stream name and record number, or skip and count them', async () => {
    const tok = await smallTokenizer();
    const records = ['a document', 42, { text: 'another' }, { body: 'x' }];
    const err = await writeTokenizedDataset(tok, {
      outDir: await tmp(),
      source: { kind: 'stream', name: 'mixed', records },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).file).toBe('<stream:mixed>');
    expect((err as DataError).line).toBe(2);
    const { manifest } = await writeTokenizedDataset(tok, {
      outDir: await tmp(),
      source: { kind: 'stream', name: 'mixed', records },
      onBadRecord: 'skip',
    });
    expect(manifest!.totals.rows).toBe(2);
    expect(manifest!.source).toMatchObject({ records: 2, skipped: 2 });
    expect(manifest!.source.skippedExamples.map((e) => e.line)).toEqual([2, 4]);
  });

  it('refuse a stream without a name or records', async () => {
    const tok = await smallTokenizer();
    const outDir = await tmp();
    const keyOf = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (e: unknown) => (e instanceof ConfigError ? e.key : String(e)),
      );
    expect(
      await keyOf(writeTokenizedDataset(tok, { outDir, source: { kind: 'stream', name: '', records: [] } })),
    ).toBe('source.name');
    expect(
      await keyOf(
        writeTokenizedDataset(tok, {
          outDir,
          source: { kind: 'stream', name: 'x', records: 5 as unknown as string[] },
        }),
      ),
    ).toBe('source.records');
    expect(
      await keyOf(
        writeTokenizedDataset(tok, {
          outDir,
          source: { kind: 'stream', name: 'x', records: () => 5 as unknown as string[] },
        }),
      ),
    ).toBe('source.records');
  });
});
