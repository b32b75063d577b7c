// Batched encoding of conversations for instruction data: the same ids and assistant spans as
// `Tokenizer.encodeChat`, with one template render per conversation (the content-free skeleton is cached
// per conversation shape) and one native multi-threaded `encodeBatch` call per batch. Conversations that
// this fast path cannot reproduce exactly (content holding special-token text, templates that rewrite
// content) go through `encodeChat` itself.
import type { ChatMessage, ChatTemplateOptions, Offset, Tokenizer } from '@loralab/tokenizer';

/** Ids and assistant-turn token spans `[start, end)` of one conversation. */
export interface EncodedConversation {
  ids: number[];
  assistantSpans: Array<{ message: number; start: number; end: number }>;
}

/** Private-use markers standing in for message content, as `@loralab/tokenizer`'s chat encoder uses them. */
const SENTINEL = /\uE000(\d+)\uE001/g;

export class ChatBatchEncoder {
  private readonly skeletons = new Map<string, string>();
  /** Conversations handed to `encodeChat` so far. */
  fallbacks = 0;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly options: ChatTemplateOptions = {},
  ) {}

  /** The template rendered with each content replaced by a marker; depends only on the conversation's shape. */
  private skeleton(messages: ChatMessage[]): string {
    const marked = messages.map((m, i) =>
      typeof m.content === 'string' ? { ...m, content: `\uE000${i}\uE001` } : m,
    );
    const key = JSON.stringify(marked);
    let s = this.skeletons.get(key);
    if (s === undefined) {
      s = this.tokenizer.applyChatTemplate(marked, this.options);
      if (this.skeletons.size > 10_000) this.skeletons.clear();
      this.skeletons.set(key, s);
    }
    return s;
  }

  /** Content spans in `rendered` (UTF-16), or null when the rendered text does not follow the skeleton. */
  private locate(messages: ChatMessage[], rendered: string): Array<[number, number] | undefined> | null {
    const skeleton = this.skeleton(messages);
    const spans: Array<[number, number] | undefined> = [];
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

  /** Encodes conversations; the result for each equals `tokenizer.encodeChat(messages, options)`'s ids and spans. */
  async encode(conversations: ChatMessage[][]): Promise<EncodedConversation[]> {
    const texts = conversations.map((m) => this.tokenizer.applyChatTemplate(m, this.options));
    const spans = conversations.map((m, i) => this.locate(m, texts[i]!));
    const fast = conversations.map((_, i) => i).filter((i) => spans[i] !== null);
    const encodings = await this.tokenizer.encodeBatch(
      fast.map((i) => texts[i]!),
      { addSpecialTokens: false, allowSpecial: true },
    );
    const out: Array<EncodedConversation | null> = conversations.map(() => null);
    for (const [k, i] of fast.entries()) {
      out[i] = this.spansOf(
        conversations[i]!,
        texts[i]!,
        spans[i]!,
        encodings[k]!.ids,
        encodings[k]!.offsets,
      );
    }
    // The rest, and those whose content held special-token text, the tokenizer's own way.
    return Promise.all(
      out.map(async (r, i) => {
        if (r) return r;
        this.fallbacks++;
        return this.tokenizer.encodeChat(conversations[i]!, this.options);
      }),
    );
  }

  /** Assistant spans exactly as `encodeChat` finds them; null when content holds special-token text. */
  private spansOf(
    messages: ChatMessage[],
    text: string,
    spans: Array<[number, number] | undefined>,
    ids: number[],
    offsets: Offset[],
  ): EncodedConversation | null {
    const { specialIds } = this.tokenizer;
    const inContent = (o: Offset) =>
      spans.some((s) => s !== undefined && o[0] >= s[0] && o[1] <= s[1] && o[1] > o[0]);
    for (let i = 0; i < ids.length; i++) if (specialIds.has(ids[i]!) && inContent(offsets[i]!)) return null;
    const contentStarts = spans
      .filter((s) => s !== undefined)
      .map((s) => s[0])
      .sort((a, b) => a - b);
    const assistantSpans: EncodedConversation['assistantSpans'] = [];
    for (const [message, span] of spans.entries()) {
      if (!span || messages[message]!.role !== 'assistant') continue;
      const [cs, ce] = span;
      // The turn's content, then up to and including the first special token after it (end of turn),
      // provided it comes before the next message's content.
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
      assistantSpans.push({ message, start, end });
    }
    return { ids, assistantSpans };
  }
}
