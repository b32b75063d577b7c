// Instruction layouts: role/content lists under `messages` or `conversations`, text-part content, ShareGPT roles,
// Alpaca with history, instruction/response, input/output, prompt/completion, LLaMA-Factory column mappings,
// unknown layouts, and the text a tokenizer trains on.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { smallTokenizer, tmp } from '../test/helpers.js';
import { ConfigError, DataError } from './errors.js';
import {
  detectInstructFormat,
  type InstructMapping,
  instructColumns,
  resolveInstructFormat,
  toChatMessages,
} from './instruct-formats.js';
import { trainingText } from './training-text.js';
import { writeTokenizedDataset } from './write-dataset.js';

const SHARED = fileURLToPath(new URL('../../../../shared/data/instruct', import.meta.url));
const hasShared = existsSync(SHARED);

const TURNS = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Yo' },
];

describe('instruction layouts', () => {
  it('reads role/content lists under messages or conversations, with text parts as content', () => {
    expect(toChatMessages({ messages: TURNS }, 'auto')).toEqual(TURNS);
    expect(detectInstructFormat({ conversations: TURNS })).toBe('messages');
    expect(toChatMessages({ conversations: TURNS }, 'auto')).toEqual(TURNS);
    const parts = {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Hello ' },
            { type: 'text', text: 'there' },
          ],
        },
        { role: 'assistant', content: [{ type: 'text', text: 'Hi.' }] },
      ],
    };
    expect(toChatMessages(parts, 'auto')).toEqual([
      { role: 'user', content: 'Hello there' },
      { role: 'assistant', content: 'Hi.' },
    ]);
    const image = {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'x' } },
          ],
        },
      ],
    };
    expect((toChatMessages(image, 'auto') as Error).message).toMatch(
      /messages\[0\]\.content\[1\] is a "image_url" part: only \{"type": "text", "text": \.\.\.\} parts/,
    );
    // Tool calls keep their keys; only such an assistant turn may have null content.
    const call = {
      role: 'assistant',
      content: null,
      tool_calls: [{ type: 'function', function: { name: 'f' } }],
    };
    expect(toChatMessages({ messages: [TURNS[1], call] }, 'messages')).toEqual([TURNS[1], call]);
    expect(
      (toChatMessages({ messages: [{ role: 'user', content: null }] }, 'auto') as Error).message,
    ).toMatch(/messages\[0\]\.content is null/);
    expect((toChatMessages({ messages: [] }, 'auto') as Error).message).toBe('"messages" has no turns');
  });

  it('maps ShareGPT roles as LLaMA-Factory does', () => {
    const record = {
      system: 'Sys',
      conversations: [
        { from: 'human', value: 'Weather?' },
        { from: 'function_call', value: '{"name": "weather"}' },
        { from: 'observation', value: '{"temp": 20}' },
        { from: 'gpt', value: '20 degrees.' },
      ],
    };
    expect(detectInstructFormat(record)).toBe('sharegpt');
    expect(toChatMessages(record, 'auto')).toEqual([
      { role: 'system', content: 'Sys' },
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: '{"name": "weather"}' },
      { role: 'tool', content: '{"temp": 20}' },
      { role: 'assistant', content: '20 degrees.' },
    ]);
    expect(
      (toChatMessages({ conversations: [{ from: 'robot', value: 'x' }] }, 'auto') as Error).message,
    ).toMatch(/conversations\[0\]\.from "robot" is not a known role/);
  });

  it('reads Alpaca with history, instruction/response, input/output and prompt/completion', () => {
    expect(
      toChatMessages({ instruction: 'Add.', input: '1 2', output: '3', history: [['Hi', 'Hello']] }, 'auto'),
    ).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
      { role: 'user', content: 'Add.\n\n1 2' },
      { role: 'assistant', content: '3' },
    ]);
    expect(detectInstructFormat({ instruction: 'Say hi.', response: 'Hi!' })).toBe('instruction-response');
    expect(toChatMessages({ instruction: 'Say hi.', response: 'Hi!' }, 'auto')).toEqual([
      { role: 'user', content: 'Say hi.' },
      { role: 'assistant', content: 'Hi!' },
    ]);
    expect(toChatMessages({ input: 'Q', output: 'A' }, 'auto')).toEqual([
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: 'A' },
    ]);
    expect(toChatMessages({ prompt: 'P', completion: 'C' }, 'auto')).toEqual([
      { role: 'user', content: 'P' },
      { role: 'assistant', content: 'C' },
    ]);
    expect(toChatMessages({ prompt: [TURNS[1]], completion: [TURNS[2]] }, 'prompt-completion')).toEqual(
      TURNS.slice(1),
    );
    expect((toChatMessages({ instruction: 'x', output: 3 }, 'auto') as Error).message).toMatch(
      /"output" must be a string, found number/,
    );
    expect(
      (toChatMessages({ instruction: 'x', output: 'y', history: [['a']] }, 'auto') as Error).message,
    ).toMatch(/"history"\[0\] must be a \[prompt, response\] pair/);
  });

  it('maps other layouts with a dataset_info-style column mapping', () => {
    const alpaca: InstructMapping = {
      formatting: 'alpaca',
      columns: { prompt: 'question', query: 'context', response: 'answer', system: 'persona' },
    };
    expect(
      toChatMessages(
        { question: 'Q?', context: 'C.', answer: 'A.', persona: 'P' },
        resolveInstructFormat(alpaca),
      ),
    ).toEqual([
      { role: 'system', content: 'P' },
      { role: 'user', content: 'Q?\n\nC.' },
      { role: 'assistant', content: 'A.' },
    ]);
    const sharegpt: InstructMapping = {
      formatting: 'sharegpt',
      columns: { messages: 'turns' },
      tags: { role_tag: 'speaker', content_tag: 'text', user_tag: 'client', assistant_tag: 'agent' },
    };
    const record = {
      turns: [
        { speaker: 'client', text: 'Hi' },
        { speaker: 'agent', text: 'Hello' },
      ],
    };
    expect(toChatMessages(record, sharegpt)).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
    ]);
    expect((toChatMessages({ turns: [{ speaker: 'human', text: 'x' }] }, sharegpt) as Error).message).toMatch(
      /turns\[0\]\.speaker "human" is not a known role \(client, agent, system, observation, function_call\)/,
    );
    expect(instructColumns(alpaca, ['id', 'question', 'answer', 'context'])).toEqual([
      'question',
      'answer',
      'context',
    ]);
    expect(instructColumns(sharegpt, ['turns', 'meta'])).toEqual(['turns']);
    expect(instructColumns('auto', ['id', 'messages', 'system'])).toEqual(['messages', 'system']);
    expect(instructColumns('auto', ['instruction', 'input', 'output', 'id'])).toEqual([
      'instruction',
      'output',
      'input',
    ]);
    expect(instructColumns('auto', ['a', 'b'])).toBeNull();
    expect(() => resolveInstructFormat({ formatting: 'openai' })).toThrow(ConfigError);
    expect(() => resolveInstructFormat({ formatting: 'alpaca', columns: { messages: 'x' } })).toThrow(
      /format\.columns\.messages": unknown key/,
    );
    expect(() => resolveInstructFormat({ formatting: 'alpaca', tags: { role_tag: 'r' } })).toThrow(
      /"sharegpt" only/,
    );
    expect(() => resolveInstructFormat('chatml')).toThrow(/unknown format "chatml"/);
  });

  it('names the keys of an unknown layout and how to map them', () => {
    const err = toChatMessages({ question: 'q', answer: 'a' }, 'auto') as Error;
    expect(err.message).toMatch(/cannot tell the instruction format from the keys \["question","answer"\]/);
    expect(err.message).toMatch(/"formatting": "alpaca", "columns": \{"prompt": "question"/);
  });

  it('gives the text to train a tokenizer on, never the raw record', () => {
    expect(trainingText({ text: 'plain', other: 1 })).toBe('plain');
    expect(trainingText({ body: 'b', text: 't' }, { field: 'body' })).toBe('b');
    expect(trainingText({ messages: TURNS })).toBe('Be brief.\nHi\nYo');
    expect(trainingText({ instruction: 'I', input: 'X', output: 'O' })).toBe('I\n\nX\nO');
    expect((trainingText({ question: 'q' }) as Error).message).toMatch(
      /no string "text" field and not an instruction record \(keys \["question"\]\)/,
    );
    expect((trainingText({ body: 3 }, { field: 'body' }) as Error).message).toMatch(/found number/);
  });

  it.skipIf(!hasShared)(
    'names the record of malformatted_data.json (skipped without ../shared)',
    async () => {
      const tok = await smallTokenizer();
      const dir = await tmp();
      for (const kind of ['json', 'jsonl'] as const) {
        const err = await writeTokenizedDataset(tok, {
          outDir: join(dir, kind),
          source: { kind, paths: [join(SHARED, 'malformatted_data.json')] },
          kind: 'chat',
        }).catch((e) => e);
        expect(err).toBeInstanceOf(DataError);
        expect(err.file).toBe(join(SHARED, 'malformatted_data.json'));
        expect(err.line).toBe(1);
        expect(err.message).toMatch(kind === 'json' ? /expected a JSON array, found "T"/ : /malformed JSON/);
      }
    },
  );
});
