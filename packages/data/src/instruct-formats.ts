// Instruction-data record formats turned into chat messages: Alpaca (`instruction`/`input`/`output`),
// ShareGPT (`conversations` of `{from, value}`) and OpenAI-style `messages` (`{role, content}`); and the
// loss-mask strategies applied to an encoded conversation.
import type { ChatMessage } from '@loralab/tokenizer';

export type InstructFormat = 'auto' | 'alpaca' | 'sharegpt' | 'messages';

/** Which tokens are trained: every assistant turn (default), only the last assistant turn, or every token. */
export type LossMaskStrategy = 'assistant' | 'last-assistant' | 'all';

const SHAREGPT_ROLES: Record<string, string> = {
  system: 'system',
  human: 'user',
  user: 'user',
  gpt: 'assistant',
  assistant: 'assistant',
  model: 'assistant',
  chatgpt: 'assistant',
  bing: 'assistant',
  tool: 'tool',
  function: 'tool',
  function_call: 'assistant',
  observation: 'tool',
};

const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** The format of a record by its keys: `messages`, `conversations` (ShareGPT), or `instruction` + `output` (Alpaca). */
export function detectInstructFormat(record: unknown): Exclude<InstructFormat, 'auto'> | null {
  if (!isObj(record)) return null;
  if (Array.isArray(record.messages)) return 'messages';
  if (Array.isArray(record.conversations)) return 'sharegpt';
  if ('instruction' in record && 'output' in record) return 'alpaca';
  return null;
}

/**
 * A record as chat messages, or an Error saying what is wrong with it. Alpaca: the user turn is the
 * instruction, then a blank line and the input when there is one; an optional `system` field comes first.
 */
export function toChatMessages(record: unknown, format: InstructFormat): ChatMessage[] | Error {
  const kind = format === 'auto' ? detectInstructFormat(record) : format;
  if (!isObj(record))
    return new Error(`expected an object, found ${Array.isArray(record) ? 'an array' : typeof record}`);
  switch (kind) {
    case 'alpaca': {
      const { instruction, input, output, system } = record;
      if (typeof instruction !== 'string' || typeof output !== 'string') {
        return new Error('Alpaca records need string "instruction" and "output"');
      }
      if (input !== undefined && input !== null && typeof input !== 'string')
        return new Error('Alpaca "input" must be a string');
      const user = input ? `${instruction}\n\n${input}` : instruction;
      return [
        ...(typeof system === 'string' && system ? [{ role: 'system', content: system }] : []),
        { role: 'user', content: user },
        { role: 'assistant', content: output },
      ];
    }
    case 'sharegpt': {
      const turns = record.conversations as unknown[];
      const out: ChatMessage[] = [];
      for (const [i, t] of turns.entries()) {
        if (!isObj(t) || typeof t.from !== 'string' || typeof t.value !== 'string') {
          return new Error(`conversations[${i}] needs string "from" and "value"`);
        }
        const role = SHAREGPT_ROLES[t.from];
        if (!role)
          return new Error(
            `conversations[${i}].from "${t.from}" is not a known ShareGPT role (${Object.keys(SHAREGPT_ROLES).join(', ')})`,
          );
        out.push({ role, content: t.value });
      }
      return out;
    }
    case 'messages': {
      const msgs = record.messages as unknown[];
      for (const [i, m] of msgs.entries()) {
        if (
          !isObj(m) ||
          typeof m.role !== 'string' ||
          !(typeof m.content === 'string' || m.content === null)
        ) {
          return new Error(`messages[${i}] needs a string "role" and a string (or null) "content"`);
        }
      }
      return msgs as ChatMessage[];
    }
    default:
      return new Error(
        `cannot tell the instruction format from the keys ${JSON.stringify(Object.keys(record))}; set "format"`,
      );
  }
}

/** The loss mask (1 = trained) of an encoded conversation under `strategy`. */
export function lossMaskFor(
  strategy: LossMaskStrategy,
  length: number,
  assistantSpans: ReadonlyArray<{ start: number; end: number }>,
): Uint8Array {
  const mask = new Uint8Array(length);
  if (strategy === 'all') return mask.fill(1);
  const spans = strategy === 'assistant' ? assistantSpans : assistantSpans.slice(-1);
  for (const s of spans) mask.fill(1, s.start, s.end);
  return mask;
}
