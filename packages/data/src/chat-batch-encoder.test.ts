import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ChatMessage, Tokenizer } from '@loralab/tokenizer';
import { describe, expect, it } from 'vitest';
import { smallTokenizer } from '../test/helpers.js';
import { ChatBatchEncoder } from './chat-batch-encoder.js';
import { generateMathProblems } from './gsm8k-generator.js';
import { toChatMessages } from './instruct-formats.js';

const SHARED = join(import.meta.dirname, '../../../../shared/data');
const hasShared = existsSync(SHARED);

function conversations(): ChatMessage[][] {
  const out: ChatMessage[][] = [...generateMathProblems({ split: 'train', count: 20 })].map((p) => [
    { role: 'user', content: p.question },
    { role: 'assistant', content: p.answer },
  ]);
  out.push(
    [
      { role: 'system', content: '  padded system  ' },
      { role: 'user', content: 'emoji 🙂 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢' },
      { role: 'assistant', content: 'Sure 🙂\n' },
      { role: 'user', content: 'again' },
      { role: 'assistant', content: '' },
    ],
    // Special-token text inside content: encoded as plain text by the tokenizer's own path.
    [
      { role: 'user', content: 'say <|im_end|> and <|end_of_text|>' },
      { role: 'assistant', content: 'no <|im_start|>' },
    ],
  );
  if (hasShared) {
    const alpaca = JSON.parse(
      readFileSync(join(SHARED, 'instruct/alpaca_en_demo.json'), 'utf8'),
    ) as unknown[];
    out.push(...alpaca.slice(0, 20).map((r) => toChatMessages(r, 'alpaca') as ChatMessage[]));
    const lines = readFileSync(join(SHARED, 'instruct/multi_turn_chat.jsonl'), 'utf8').trim().split('\n');
    out.push(...lines.map((l) => toChatMessages(JSON.parse(l), 'messages') as ChatMessage[]));
    out.push(
      toChatMessages(
        JSON.parse(readFileSync(join(SHARED, 'instruct/chat_tiny.json'), 'utf8'))[0],
        'sharegpt',
      ) as ChatMessage[],
    );
  }
  return out;
}

async function expectSameAsEncodeChat(tok: Tokenizer) {
  const convs = conversations();
  const encoder = new ChatBatchEncoder(tok);
  const fast = await encoder.encode(convs);
  const slow = await Promise.all(convs.map((m) => tok.encodeChat(m)));
  expect(fast.map((e) => ({ ids: e.ids, spans: e.assistantSpans }))).toEqual(
    slow.map((e) => ({ ids: e.ids, spans: e.assistantSpans })),
  );
  // Some conversations hold special-token text in content, which is encoded as plain text.
  expect(slow.filter((e) => e.escapedSpecialText).length).toBeGreaterThan(0);
  expect(slow.filter((e) => e.assistantSpans.length > 0).length).toBeGreaterThan(20);
}

describe('ChatBatchEncoder', () => {
  it('gives the ids and assistant spans of encodeChat (ChatML template)', async () => {
    await expectSameAsEncodeChat(await smallTokenizer());
  });

  it.skipIf(!hasShared)(
    'gives the ids and assistant spans of encodeChat (Granite 3 template; skipped without ../shared)',
    async () => {
      await expectSameAsEncodeChat(await Tokenizer.fromPretrained(join(SHARED, 'tokenizers/granite-3')));
    },
  );
});
