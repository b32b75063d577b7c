// Instruction-data record layouts turned into chat messages: OpenAI/HF `messages` (or `conversations`) of
// `{role, content}` with string or text-part content, ShareGPT `conversations` of `{from, value}`, Alpaca
// (`instruction`/`input`/`output`, `system`, `history`), instruction/response (torchtune, Dolly), input/output
// (torchtune's default columns) and prompt/completion (TRL), plus column mappings in the manner of LLaMA-Factory's
// `dataset_info.json` for any other layout; and the loss-mask strategies applied to an encoded conversation.
import type { ChatMessage } from '@loralab/tokenizer';
import { ConfigError, rejectUnknownKeys } from './errors.js';

/** The built-in layouts, recognised by their keys with `auto`. */
export type InstructLayout =
  | 'messages'
  | 'sharegpt'
  | 'alpaca'
  | 'instruction-response'
  | 'input-output'
  | 'prompt-completion';

/**
 * A column mapping, as an entry of LLaMA-Factory's `dataset_info.json` (same keys and defaults):
 * `formatting: 'alpaca'` maps `columns.prompt` (default `instruction`), `query` (`input`), `response` (`output`),
 * `system` and `history` (a list of `[prompt, response]` pairs); `formatting: 'sharegpt'` maps
 * `columns.messages` (default `conversations`) and `system`, with `tags` naming the keys and role values of each
 * turn (defaults `from`/`value`, `human`, `gpt`, `system`, `observation`, `function_call`).
 */
export interface InstructMapping {
  formatting: 'alpaca' | 'sharegpt';
  columns?: {
    prompt?: string;
    query?: string;
    response?: string;
    history?: string;
    system?: string;
    messages?: string;
  };
  tags?: {
    role_tag?: string;
    content_tag?: string;
    user_tag?: string;
    assistant_tag?: string;
    system_tag?: string;
    observation_tag?: string;
    function_tag?: string;
  };
}

/** `auto` (by keys, per record), a built-in layout, or a column mapping. */
export type InstructFormat = 'auto' | InstructLayout | InstructMapping;

/** Which tokens are trained: every assistant turn (default), only the last assistant turn, or every token. */
export type LossMaskStrategy = 'assistant' | 'last-assistant' | 'all';

export const INSTRUCT_LAYOUTS: readonly InstructLayout[] = [
  'messages',
  'sharegpt',
  'alpaca',
  'instruction-response',
  'input-output',
  'prompt-completion',
];

/** ShareGPT role values of the built-in layout, as LLaMA-Factory maps them (function calls are assistant turns). */
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

const ALPACA_COLUMNS = ['prompt', 'query', 'response', 'history', 'system'] as const;
const SHAREGPT_COLUMNS = ['messages', 'system'] as const;
const TAG_KEYS = [
  'role_tag',
  'content_tag',
  'user_tag',
  'assistant_tag',
  'system_tag',
  'observation_tag',
  'function_tag',
] as const;

const MAPPING_EXAMPLE =
  '{"formatting": "alpaca", "columns": {"prompt": "question", "response": "answer"}} or {"formatting": "sharegpt", "columns": {"messages": "turns"}, "tags": {"role_tag": "speaker", "content_tag": "text", "user_tag": "client", "assistant_tag": "agent"}}';

const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Checks an instruction format: a known layout name, or a mapping with known keys and string values. */
export function resolveInstructFormat(format: unknown, key = 'format'): InstructFormat {
  if (typeof format === 'string') {
    if (format === 'auto' || INSTRUCT_LAYOUTS.includes(format as InstructLayout))
      return format as InstructFormat;
    throw new ConfigError(
      key,
      `unknown format ${JSON.stringify(format)}; expected auto, ${INSTRUCT_LAYOUTS.join(', ')}, or a column mapping such as ${MAPPING_EXAMPLE}`,
    );
  }
  if (!isObj(format))
    throw new ConfigError(key, `expected a layout name or a column mapping, found ${typeof format}`);
  rejectUnknownKeys(format, ['formatting', 'columns', 'tags'], key);
  if (format.formatting !== 'alpaca' && format.formatting !== 'sharegpt') {
    throw new ConfigError(
      `${key}.formatting`,
      `expected "alpaca" or "sharegpt", found ${JSON.stringify(format.formatting)}`,
    );
  }
  const allowed: readonly string[] = format.formatting === 'alpaca' ? ALPACA_COLUMNS : SHAREGPT_COLUMNS;
  for (const [part, keys] of [
    ['columns', allowed],
    ['tags', TAG_KEYS],
  ] as const) {
    const v = format[part];
    if (v === undefined) continue;
    if (!isObj(v)) throw new ConfigError(`${key}.${part}`, `expected an object of names, found ${typeof v}`);
    rejectUnknownKeys(v, keys, `${key}.${part}`);
    for (const [k, name] of Object.entries(v)) {
      if (typeof name !== 'string' || !name)
        throw new ConfigError(`${key}.${part}.${k}`, `expected a name, found ${JSON.stringify(name)}`);
    }
  }
  if (format.formatting === 'alpaca' && format.tags !== undefined)
    throw new ConfigError(`${key}.tags`, 'tags apply to formatting "sharegpt" only');
  return format as unknown as InstructMapping;
}

/** The list column of a chat record (`messages`, else `conversations`) and the shape of its first turn. */
function chatList(record: Record<string, unknown>): { key: string; turns: unknown[] } | null {
  for (const key of ['messages', 'conversations']) {
    if (Array.isArray(record[key])) return { key, turns: record[key] as unknown[] };
  }
  return null;
}

/** The layout of a record by its keys (`messages`/`conversations` by the keys of their first turn), or null. */
export function detectInstructFormat(record: unknown): InstructLayout | null {
  if (!isObj(record)) return null;
  const chat = chatList(record);
  if (chat) {
    const first = chat.turns.find(isObj);
    return first && 'from' in first && 'value' in first && !('role' in first) ? 'sharegpt' : 'messages';
  }
  return detectByKeys(Object.keys(record));
}

function detectByKeys(keys: readonly string[]): InstructLayout | null {
  const has = (k: string) => keys.includes(k);
  if (has('messages') || has('conversations')) return null; // decided by the turns, see detectInstructFormat
  if (has('instruction') && has('output')) return 'alpaca';
  if (has('instruction') && has('response')) return 'instruction-response';
  if (has('input') && has('output')) return 'input-output';
  if (has('prompt') && has('completion')) return 'prompt-completion';
  return null;
}

/** The mapping a built-in layout stands for. */
function layoutMapping(layout: InstructLayout, record?: Record<string, unknown>): InstructMapping {
  switch (layout) {
    case 'alpaca':
      return {
        formatting: 'alpaca',
        columns: {
          prompt: 'instruction',
          query: 'input',
          response: 'output',
          system: 'system',
          history: 'history',
        },
      };
    case 'instruction-response':
      return {
        formatting: 'alpaca',
        columns: { prompt: 'instruction', query: 'input', response: 'response', system: 'system' },
      };
    case 'input-output':
      return { formatting: 'alpaca', columns: { prompt: 'input', response: 'output', system: 'system' } };
    case 'prompt-completion':
      return {
        formatting: 'alpaca',
        columns: { prompt: 'prompt', response: 'completion', system: 'system' },
      };
    case 'sharegpt':
    case 'messages':
      return {
        formatting: 'sharegpt',
        columns: {
          messages:
            (record && chatList(record)?.key) ?? (layout === 'sharegpt' ? 'conversations' : 'messages'),
          system: 'system',
        },
      };
  }
}

/**
 * The top-level columns a format reads from a file with `available` columns (for column projection), or null
 * to read every column (`auto` when the columns match no layout: each record then fails with its keys listed).
 */
export function instructColumns(format: InstructFormat, available: readonly string[]): string[] | null {
  let mapping: InstructMapping;
  if (format === 'auto') {
    const list = ['messages', 'conversations'].find((k) => available.includes(k));
    if (list) return [list, ...['system'].filter((k) => available.includes(k))];
    const layout = detectByKeys(available);
    if (!layout) return null;
    mapping = layoutMapping(layout);
  } else if (typeof format === 'string') {
    if (format === 'messages' || format === 'sharegpt') {
      const list = ['messages', 'conversations'].find((k) => available.includes(k));
      return [
        list ?? (format === 'sharegpt' ? 'conversations' : 'messages'),
        ...['system'].filter((k) => available.includes(k)),
      ];
    }
    mapping = layoutMapping(format);
  } else mapping = format;
  const cols = columnsOf(mapping, typeof format === 'string');
  const required = mapping.formatting === 'alpaca' ? [cols.prompt!, cols.response!] : [cols.messages!];
  const optional = Object.values(cols).filter(
    (c): c is string => !!c && !required.includes(c) && available.includes(c),
  );
  return [...new Set([...required, ...optional])];
}

/** The columns of a mapping: a built-in layout's as they are, a user's over LLaMA-Factory's defaults. */
function columnsOf(mapping: InstructMapping, builtin: boolean): NonNullable<InstructMapping['columns']> {
  if (builtin) return mapping.columns!;
  const defaults =
    mapping.formatting === 'alpaca'
      ? { prompt: 'instruction', query: 'input', response: 'output' }
      : { messages: 'conversations' };
  return { ...defaults, ...mapping.columns };
}

const DEFAULT_TAGS: Required<NonNullable<InstructMapping['tags']>> = {
  role_tag: 'from',
  content_tag: 'value',
  user_tag: 'human',
  assistant_tag: 'gpt',
  system_tag: 'system',
  observation_tag: 'observation',
  function_tag: 'function_call',
};

/**
 * Message content as text: a string, null (an assistant turn that only calls tools), or a list of parts of which
 * only `{type: "text", text}` (or plain strings) are accepted, concatenated as HF chat templates render them.
 */
export function textContent(content: unknown, where: string): string | null | Error {
  if (typeof content === 'string' || content === null) return content;
  if (!Array.isArray(content))
    return new Error(`${where} must be a string, null or a list of text parts, found ${typeof content}`);
  let text = '';
  for (const [j, part] of content.entries()) {
    if (typeof part === 'string') text += part;
    else if (isObj(part) && part.type === 'text' && typeof part.text === 'string') text += part.text;
    else {
      const type = isObj(part) ? JSON.stringify(part.type) : typeof part;
      return new Error(
        `${where}[${j}] is a ${type} part: only {"type": "text", "text": ...} parts can be trained on by a text model; remove the other parts (or the record)`,
      );
    }
  }
  return text;
}

function unknownLayout(record: Record<string, unknown>): Error {
  return new Error(
    `cannot tell the instruction format from the keys ${JSON.stringify(Object.keys(record))}: known layouts are messages/conversations [{role, content}], ShareGPT conversations [{from, value}], alpaca (instruction, input, output), instruction/response, input/output, prompt/completion; for other keys set "format" to a column mapping (as in LLaMA-Factory's dataset_info.json), e.g. ${MAPPING_EXAMPLE}`,
  );
}

/**
 * A record as chat messages, or an Error saying what is wrong with it. Alpaca-style layouts: `history` pairs
 * first, then the user turn, which is the prompt, then a blank line and the query when there is one; an optional
 * system column comes first. Role/content turns keep their roles and other keys (`tool_calls`); ShareGPT roles
 * are mapped as LLaMA-Factory does (human → user, gpt and function_call → assistant, observation → tool).
 */
export function toChatMessages(record: unknown, format: InstructFormat): ChatMessage[] | Error {
  if (!isObj(record))
    return new Error(`expected an object, found ${Array.isArray(record) ? 'an array' : typeof record}`);
  let layout: InstructLayout | null = null;
  let mapping: InstructMapping;
  if (typeof format === 'string') {
    layout = format === 'auto' ? detectInstructFormat(record) : format;
    if (!layout) return unknownLayout(record);
    mapping = layoutMapping(layout, record);
  } else mapping = format;
  const cols = columnsOf(mapping, typeof format === 'string');
  const system: ChatMessage[] = [];
  if (cols.system && record[cols.system] !== undefined && record[cols.system] !== null) {
    const s = record[cols.system];
    if (typeof s !== 'string')
      return new Error(`"${cols.system}" (the system prompt) must be a string, found ${typeof s}`);
    if (s) system.push({ role: 'system', content: s });
  }
  if (mapping.formatting === 'alpaca') return alpacaMessages(record, cols, system, layout);
  const key = cols.messages!;
  const turns = record[key];
  if (!Array.isArray(turns)) {
    return new Error(
      record[key] === undefined
        ? `no "${key}" list in this record (keys ${JSON.stringify(Object.keys(record))})`
        : `"${key}" must be a list of turns, found ${typeof turns}`,
    );
  }
  if (turns.length === 0) return new Error(`"${key}" has no turns`);
  if (layout === 'messages') {
    const out: ChatMessage[] = [...system];
    for (const [i, m] of turns.entries()) {
      if (!isObj(m) || typeof m.role !== 'string')
        return new Error(`${key}[${i}] needs a string "role" and a "content"`);
      const content = textContent(m.content ?? null, `${key}[${i}].content`);
      if (content instanceof Error) return content;
      if (
        content === null &&
        !(m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length)
      ) {
        return new Error(
          `${key}[${i}].content is null: only an assistant turn with "tool_calls" may have no content`,
        );
      }
      out.push({ ...m, role: m.role, content });
    }
    return out;
  }
  const tags = { ...DEFAULT_TAGS, ...mapping.tags };
  const roles: Record<string, string> = layout
    ? SHAREGPT_ROLES
    : {
        [tags.user_tag]: 'user',
        [tags.assistant_tag]: 'assistant',
        [tags.system_tag]: 'system',
        [tags.observation_tag]: 'tool',
        [tags.function_tag]: 'assistant',
      };
  const out: ChatMessage[] = [...system];
  for (const [i, t] of turns.entries()) {
    const from = isObj(t) ? t[tags.role_tag] : undefined;
    if (typeof from !== 'string')
      return new Error(`${key}[${i}] needs a string "${tags.role_tag}" and "${tags.content_tag}"`);
    const role = roles[from];
    if (!role)
      return new Error(
        `${key}[${i}].${tags.role_tag} "${from}" is not a known role (${Object.keys(roles).join(', ')}); map it with format.tags`,
      );
    const value = (t as Record<string, unknown>)[tags.content_tag];
    const content = textContent(value === undefined ? 0 : value, `${key}[${i}].${tags.content_tag}`);
    if (content instanceof Error) return content;
    if (content === null) return new Error(`${key}[${i}].${tags.content_tag} is null`);
    out.push({ role, content });
  }
  return out;
}

function alpacaMessages(
  record: Record<string, unknown>,
  cols: NonNullable<InstructMapping['columns']>,
  system: ChatMessage[],
  layout: InstructLayout | null,
): ChatMessage[] | Error {
  const prompt = record[cols.prompt!];
  const response = record[cols.response!];
  // prompt/completion as message lists (TRL's conversational layout): the turns, in order.
  if (layout === 'prompt-completion' && Array.isArray(prompt) && Array.isArray(response)) {
    return toChatMessages(
      { messages: [...prompt, ...response], ...(system.length && { system: system[0]!.content }) },
      'messages',
    );
  }
  const str = (v: unknown, name: string, optional: boolean): string | Error =>
    typeof v === 'string'
      ? v
      : optional && (v === undefined || v === null)
        ? ''
        : new Error(
            `"${name}" must be a string, found ${v === undefined ? 'no such key' : v === null ? 'null' : typeof v} (keys ${JSON.stringify(Object.keys(record))})`,
          );
  const p = str(prompt, cols.prompt!, false);
  if (p instanceof Error) return p;
  const r = str(response, cols.response!, false);
  if (r instanceof Error) return r;
  const q = cols.query ? str(record[cols.query], cols.query, true) : '';
  if (q instanceof Error) return q;
  const out = [...system];
  const history = cols.history ? record[cols.history] : undefined;
  if (history !== undefined && history !== null) {
    if (!Array.isArray(history))
      return new Error(`"${cols.history}" must be a list of [prompt, response] pairs`);
    for (const [i, pair] of history.entries()) {
      if (
        !Array.isArray(pair) ||
        pair.length !== 2 ||
        typeof pair[0] !== 'string' ||
        typeof pair[1] !== 'string'
      )
        return new Error(`"${cols.history}"[${i}] must be a [prompt, response] pair of strings`);
      out.push({ role: 'user', content: pair[0] }, { role: 'assistant', content: pair[1] });
    }
  }
  out.push({ role: 'user', content: q ? `${p}\n\n${q}` : p }, { role: 'assistant', content: r });
  return out;
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
