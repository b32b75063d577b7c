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
  /** Offsets of each token in `text`, in UTF-16 units (computed on first read by `encodeChatBatch`). */
  readonly offsets: Offset[];
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

/** Where each message's content lies in the rendered text, `[start, end)` in UTF-16 units. */
type ContentSpans = Array<[number, number] | undefined>;

/** Skeletons (templates rendered with markers for content) by conversation shape, per tokenizer. */
const skeletonCache = new WeakMap<Tokenizer, Map<string, string>>();

/**
 * The template rendered with each message's content replaced by a marker. It depends only on the
 * conversation's shape (roles, other fields, options), so it is cached for batches of similar conversations.
 */
function skeletonOf(tokenizer: Tokenizer, messages: ChatMessage[], options: ChatTemplateOptions): string {
  const marked = messages.map((m, i) =>
    typeof m.content === 'string' ? { ...m, content: `\uE000${i}\uE001` } : m,
  );
  let cache = skeletonCache.get(tokenizer);
  if (!cache) {
    cache = new Map();
    skeletonCache.set(tokenizer, cache);
  }
  const key = JSON.stringify([marked, options]);
  let skeleton = cache.get(key);
  if (skeleton === undefined) {
    skeleton = renderChatTemplate(tokenizer, marked, options);
    if (cache.size >= 10_000) cache.clear();
    cache.set(key, skeleton);
  }
  return skeleton;
}

/**
 * Locates each message's content in `rendered` by walking the skeleton: the text between markers is the
 * template's own, so content positions follow exactly, whatever the content holds. A template that trims
 * content is allowed for; one that otherwise rewrites it cannot be aligned: null.
 */
function alignContent(skeleton: string, messages: ChatMessage[], rendered: string): ContentSpans | null {
  const spans: ContentSpans = [];
  let pos = 0;
  let last = 0;
  for (const match of skeleton.matchAll(SENTINEL)) {
    const between = skeleton.slice(last, match.index);
    if (!rendered.startsWith(between, pos)) return null;
    pos += between.length;
    last = match.index + match[0].length;
    const index = Number(match[1]);
    const content = messages[index]!.content as string;
    const length = rendered.startsWith(content, pos)
      ? content.length
      : rendered.startsWith(content.trim(), pos)
        ? content.trim().length
        : -1;
    if (length < 0) return null;
    spans[index] ??= [pos, pos + length];
    pos += length;
  }
  return rendered.slice(pos) === skeleton.slice(last) ? spans : null;
}

/**
 * Assistant spans and mask for an encoded conversation; null when a special token was matched inside
 * message content (the caller then re-encodes with content as plain text).
 */
/** Token offsets read one at a time (`at`) or all at once (`all`, for the result's `offsets`). */
interface TokenOffsets {
  at(i: number): Offset;
  all(): Offset[];
}

const offsetArray = (offsets: Offset[]): TokenOffsets => ({ at: (i) => offsets[i]!, all: () => offsets });

/** The first index in [lo, hi) where `pred` holds, for a predicate that is false and then true (else hi). */
function firstWhere(lo: number, hi: number, pred: (i: number) => boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function withAssistantSpans(
  tokenizer: Tokenizer,
  messages: ChatMessage[],
  text: string,
  spans: ContentSpans,
  ids: number[],
  offsets: TokenOffsets,
  escapedSpecialText: boolean,
): ChatEncoding | null {
  const { specialIds } = tokenizer;
  const n = ids.length;
  const located = spans.filter((s) => s !== undefined);
  if (!escapedSpecialText) {
    const inContent = (o: Offset) => located.some((s) => o[0] >= s[0] && o[1] <= s[1] && o[1] > o[0]);
    for (let i = 0; i < n; i++) if (specialIds.has(ids[i]!) && inContent(offsets.at(i))) return null;
  }
  const assistantMask: number[] = new Array(n).fill(0);
  const assistantSpans: ChatEncoding['assistantSpans'] = [];
  const contentStarts = located.map((s) => s[0]).sort((a, b) => a - b);
  for (const [message, span] of spans.entries()) {
    if (!span || messages[message]!.role !== 'assistant') continue;
    const [cs, ce] = span;
    // The turn's content: from the first non-empty token that ends after its start to the first token that starts
    // at or after its end. Tokens of one text come in order, so both ends of the offsets are non-decreasing along
    // the tokens and binary searches find these (a few native reads instead of one per token).
    let start = firstWhere(0, n, (i) => offsets.at(i)[1] > cs);
    while (start < n && offsets.at(start)[1] <= offsets.at(start)[0]) start++;
    let end = firstWhere(start, n, (i) => offsets.at(i)[0] >= ce);
    // Then up to and including the first special token after it (the end-of-turn marker: <|im_end|>,
    // <|eot_id|>, </s>), provided it comes before the next message's content.
    const nextContent = contentStarts.find((s) => s > cs) ?? text.length + 1;
    for (let k = end; k < n && offsets.at(k)[0] < nextContent; k++) {
      if (specialIds.has(ids[k]!)) {
        end = k + 1;
        break;
      }
    }
    for (let k = start; k < end; k++) assistantMask[k] = 1;
    assistantSpans.push({ message, start, end });
  }
  return {
    text,
    ids,
    get offsets() {
      return offsets.all();
    },
    assistantMask,
    assistantSpans,
    escapedSpecialText,
  };
}

function alignOrThrow(
  tokenizer: Tokenizer,
  messages: ChatMessage[],
  options: ChatTemplateOptions,
  text: string,
) {
  const spans = alignContent(skeletonOf(tokenizer, messages, options), messages, text);
  if (!spans) {
    throw new TokenizerError(
      'cannot align message content with the rendered chat template: the template rewrites content beyond trimming',
    );
  }
  return spans;
}

export async function encodeChat(
  tokenizer: Tokenizer,
  messages: ChatMessage[],
  options: ChatTemplateOptions = {},
): Promise<ChatEncoding> {
  const text = renderChatTemplate(tokenizer, messages, options);
  const spans = alignOrThrow(tokenizer, messages, options, text);
  // Whole-text encoding matches transformers' apply_chat_template(tokenize=True) exactly ...
  const whole = await tokenizer.rawEncode(text, true);
  const result = withAssistantSpans(
    tokenizer,
    messages,
    text,
    spans,
    whole.getIds(),
    offsetArray(scalarToUtf16Offsets(text, whole.getOffsets())),
    false,
  );
  if (result) return result;
  // ... unless content holds special-token text: then template text and content are encoded apart,
  // content without special-token matching, so a user cannot inject control tokens.
  const ids: number[] = [];
  const offsets: Offset[] = [];
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
  return withAssistantSpans(tokenizer, messages, text, spans, ids, offsetArray(offsets), true)!;
}

/**
 * `encodeChat` for many conversations: one native multi-threaded batch encode, with the template skeleton
 * cached per conversation shape. Each result equals `encodeChat`'s for the same conversation.
 */
export async function encodeChatBatch(
  tokenizer: Tokenizer,
  conversations: ChatMessage[][],
  options: ChatTemplateOptions = {},
): Promise<ChatEncoding[]> {
  const texts = conversations.map((m) => renderChatTemplate(tokenizer, m, options));
  const spans = conversations.map((m, i) => alignOrThrow(tokenizer, m, options, texts[i]!));
  const encodings = await tokenizer.encodeBatch(texts, { addSpecialTokens: false, allowSpecial: true });
  return Promise.all(
    conversations.map(
      (messages, i) =>
        withAssistantSpans(
          tokenizer,
          messages,
          texts[i]!,
          spans[i]!,
          encodings[i]!.ids,
          { at: (t) => encodings[i]!.offsetAt(t), all: () => encodings[i]!.offsets },
          false,
        ) ?? encodeChat(tokenizer, messages, options), // content held special-token text
    ),
  );
}
