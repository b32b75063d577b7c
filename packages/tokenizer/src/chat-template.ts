// Chat templates: render a conversation with the tokenizer's Jinja `chat_template` (as transformers'
// `apply_chat_template` does) and find the tokens of assistant turns, which instruction finetuning trains on.
import { Template } from '@huggingface/jinja';
import { type Offset, scalarToUtf16Offsets } from './encoding.js';
import { TokenizerError } from './errors.js';
import type { Tokenizer } from './tokenizer.js';

/** One turn of a conversation. Extra fields (tool calls, names) are passed to the template as they are. */
export interface ChatMessage {
  role: string;
  content: string | null;
  [key: string]: unknown;
}

export interface ChatTemplateOptions {
  /** End with the header of an assistant turn, for generation. Default false. */
  addGenerationPrompt?: boolean;
  /** A template string, or the name of one in `tokenizer_config.json`. Default: the tokenizer's own. */
  chatTemplate?: string;
  /** Tool definitions, passed to the template as `tools`. */
  tools?: unknown[];
  /** Documents for retrieval templates, passed as `documents`. */
  documents?: unknown[];
  /** Further template variables. */
  variables?: Record<string, unknown>;
}

/** A conversation encoded for training. Token indices are `[start, end)`. */
export interface ChatEncoding {
  /** The rendered conversation. */
  text: string;
  ids: number[];
  /** Offsets of each token in `text`, in UTF-16 units. */
  offsets: Offset[];
  /** 1 for tokens of assistant turns (content and end-of-turn token), 0 elsewhere: the loss mask. */
  assistantMask: number[];
  /** The token span of each assistant turn, with the index of its message. */
  assistantSpans: Array<{ message: number; start: number; end: number }>;
  /** True when message content held special-token text, which was encoded as plain text. */
  escapedSpecialText: boolean;
}

const compiled = new Map<string, Template>();

function compile(source: string): Template {
  let template = compiled.get(source);
  if (!template) {
    try {
      template = new Template(source);
    } catch (cause) {
      throw new TokenizerError(`cannot parse chat template: ${(cause as Error).message}`, { cause });
    }
    compiled.set(source, template);
  }
  return template;
}

function templateSource(tokenizer: Tokenizer, options: ChatTemplateOptions): string {
  const { chatTemplate } = options;
  const named = chatTemplate !== undefined && !/[{%]/.test(chatTemplate);
  const source = named
    ? tokenizer.chatTemplate(chatTemplate)
    : (chatTemplate ?? tokenizer.chatTemplate(options.tools ? 'tool_use' : 'default'));
  if (source === null) {
    throw new TokenizerError(
      'this tokenizer has no chat_template: add one to tokenizer_config.json or pass options.chatTemplate',
    );
  }
  return source;
}

export function renderChatTemplate(
  tokenizer: Tokenizer,
  messages: ChatMessage[],
  options: ChatTemplateOptions = {},
): string {
  if (!Array.isArray(messages)) throw new TokenizerError('messages must be a list of {role, content}');
  for (const [i, m] of messages.entries()) {
    if (typeof m?.role !== 'string') throw new TokenizerError(`messages[${i}] has no string "role"`);
  }
  const template = compile(templateSource(tokenizer, options));
  try {
    return template.render({
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
      tools: options.tools,
      documents: options.documents,
      bos_token: tokenizer.bos?.token ?? '',
      eos_token: tokenizer.eos?.token ?? '',
      pad_token: tokenizer.pad?.token ?? '',
      unk_token: tokenizer.unk?.token ?? '',
      ...options.variables,
    });
  } catch (cause) {
    throw new TokenizerError(`chat template failed: ${(cause as Error).message}`, { cause });
  }
}

/** Private-use markers that stand in for message content while locating it in the rendered text. */
const SENTINEL = /\uE000(\d+)\uE001/g;

/**
 * Where each message's content lies in the rendered text. The template is rendered a second time with
 * each content replaced by a marker; the text between markers is the template's own, so content positions
 * follow exactly, whatever the content holds. A template that trims content is allowed for; one that
 * otherwise rewrites it cannot be aligned and raises.
 */
function locateContent(
  tokenizer: Tokenizer,
  messages: ChatMessage[],
  options: ChatTemplateOptions,
  rendered: string,
): Array<[number, number] | undefined> {
  const marked = messages.map((m, i) =>
    typeof m.content === 'string' ? { ...m, content: `\uE000${i}\uE001` } : m,
  );
  const skeleton = renderChatTemplate(tokenizer, marked, options);
  const spans: Array<[number, number] | undefined> = [];
  let pos = 0;
  let last = 0;
  const fail = (what: string) =>
    new TokenizerError(
      `cannot align message content with the rendered chat template (${what}); the template rewrites content beyond trimming`,
    );
  for (const match of skeleton.matchAll(SENTINEL)) {
    const between = skeleton.slice(last, match.index);
    if (!rendered.startsWith(between, pos)) throw fail('template text differs');
    pos += between.length;
    last = match.index + match[0].length;
    const index = Number(match[1]);
    const content = messages[index]!.content as string;
    const length = rendered.startsWith(content, pos)
      ? content.length
      : rendered.startsWith(content.trim(), pos)
        ? content.trim().length
        : -1;
    if (length < 0) throw fail(`content of messages[${index}]`);
    spans[index] ??= [pos, pos + length];
    pos += length;
  }
  if (rendered.slice(pos) !== skeleton.slice(last)) throw fail('template text differs at the end');
  return spans;
}

export async function encodeChat(
  tokenizer: Tokenizer,
  messages: ChatMessage[],
  options: ChatTemplateOptions = {},
): Promise<ChatEncoding> {
  const text = renderChatTemplate(tokenizer, messages, options);
  const spans = locateContent(tokenizer, messages, options, text);
  const { specialIds } = tokenizer;
  const inContent = (o: Offset) =>
    spans.some((s) => s !== undefined && o[0] >= s[0] && o[1] <= s[1] && o[1] > o[0]);

  // Whole-text encoding matches transformers' apply_chat_template(tokenize=True) exactly ...
  const whole = await tokenizer.rawEncode(text, true);
  let ids = whole.getIds();
  let offsets = scalarToUtf16Offsets(text, whole.getOffsets());
  const escapedSpecialText = ids.some((id, i) => specialIds.has(id) && inContent(offsets[i]!));
  if (escapedSpecialText) {
    // ... unless content holds special-token text: then template text and content are encoded apart,
    // content without special-token matching, so a user cannot inject control tokens.
    ids = [];
    offsets = [];
    const cuts = spans.filter((s) => s !== undefined).sort((a, b) => a[0] - b[0]);
    const pieces: Array<[number, number, boolean]> = [];
    let at = 0;
    for (const [s, e] of cuts) {
      if (s > at) pieces.push([at, s, true]);
      if (e > s) pieces.push([s, e, false]);
      at = e;
    }
    if (at < text.length) pieces.push([at, text.length, true]);
    for (const [s, e, allowSpecial] of pieces) {
      const piece = text.slice(s, e);
      const enc = await tokenizer.rawEncode(piece, allowSpecial);
      ids.push(...enc.getIds());
      for (const o of scalarToUtf16Offsets(piece, enc.getOffsets())) offsets.push([o[0] + s, o[1] + s]);
    }
  }

  const assistantMask: number[] = new Array(ids.length).fill(0);
  const assistantSpans: ChatEncoding['assistantSpans'] = [];
  const contentStarts = spans
    .filter((s) => s !== undefined)
    .map((s) => s[0])
    .sort((a, b) => a - b);
  for (const [message, span] of spans.entries()) {
    if (!span || messages[message]!.role !== 'assistant') continue;
    const [cs, ce] = span;
    // The turn's content, then up to and including the first special token after it (the end-of-turn
    // marker: <|im_end|>, <|eot_id|>, </s>), provided it comes before the next message's content.
    const nextContent = contentStarts.find((s) => s > cs) ?? text.length + 1;
    let start = offsets.findIndex((o) => o[1] > cs && o[1] > o[0]);
    if (start < 0) start = ids.length;
    let end = start;
    while (end < ids.length && offsets[end]![0] < ce) end++;
    for (let k = end; k < ids.length && offsets[k]![0] < nextContent; k++) {
      if (specialIds.has(ids[k]!)) {
        end = k + 1;
        break;
      }
    }
    for (let k = start; k < end; k++) assistantMask[k] = 1;
    assistantSpans.push({ message, start, end });
  }
  return { text, ids, offsets, assistantMask, assistantSpans, escapedSpecialText };
}
