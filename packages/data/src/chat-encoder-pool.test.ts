import type { ChatMessage } from '@loralab/tokenizer';
import { describe, expect, it } from 'vitest';
import { smallTokenizer } from '../test/helpers.js';
import { ChatBatchEncoder } from './chat-batch-encoder.js';
import { ChatEncoderPool } from './chat-encoder-pool.js';
import { generateMathProblems } from './gsm8k-generator.js';
import { lossMaskFor } from './instruct-formats.js';

function batches(): ChatMessage[][][] {
  const convs: ChatMessage[][] = [...generateMathProblems({ split: 'train', count: 90, seed: 9 })].map(
    (p) => [
      { role: 'system', content: 'Solve it.' },
      { role: 'user', content: p.question },
      { role: 'assistant', content: p.answer },
    ],
  );
  return Array.from({ length: 9 }, (_, i) => convs.slice(i * 10, (i + 1) * 10));
}

describe('ChatEncoderPool', () => {
  it('encodes on worker threads to the packed ids and masks of the one-thread encoder', async () => {
    const tok = await smallTokenizer();
    const pool = new ChatEncoderPool(tok, {}, 2, 'last-assistant');
    try {
      await pool.ready();
      const all = batches();
      const got = await Promise.all(all.map((b) => pool.encode(b)));
      expect(pool.batches).toEqual({ local: 0, workers: all.length });
      const encoder = new ChatBatchEncoder(tok);
      for (const [i, b] of all.entries()) {
        const want = await encoder.encode(b);
        const g = got[i]!;
        expect(g.offsets.length).toBe(b.length + 1);
        for (const [k, e] of want.entries()) {
          const [s, t] = [g.offsets[k]!, g.offsets[k + 1]!];
          expect(Array.from(g.ids.subarray(s, t))).toEqual(e.ids);
          expect(g.masks.subarray(s, t)).toEqual(
            lossMaskFor('last-assistant', e.ids.length, e.assistantSpans),
          );
        }
      }
    } finally {
      await pool.close();
    }
  });

  it('encodes in this thread while no worker is ready, and with no workers', async () => {
    const tok = await smallTokenizer();
    const pool = new ChatEncoderPool(tok, {}, 1, 'assistant');
    const local = new ChatEncoderPool(tok, {}, 0, 'assistant');
    try {
      const [b] = batches();
      const early = await pool.encode(b!); // the worker is still loading the tokenizer
      expect(pool.batches.local).toBe(1);
      expect(await local.encode(b!)).toEqual(early);
      expect(local.batches).toEqual({ local: 1, workers: 0 });
    } finally {
      await pool.close();
    }
  });

  it('reports an error raised in a worker as a DataError', async () => {
    const tok = await smallTokenizer();
    const pool = new ChatEncoderPool(
      tok,
      { chatTemplate: '{{ raise_exception("bad template") }}' },
      1,
      'assistant',
    );
    try {
      await pool.ready();
      await expect(pool.encode(batches()[0]!)).rejects.toThrow(/worker thread: .*bad template/);
    } finally {
      await pool.close();
    }
  });
});
