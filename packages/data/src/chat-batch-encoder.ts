// Batched encoding of conversations for instruction data: `Tokenizer.encodeChatBatch` (one template render per
// conversation, the skeleton cached per conversation shape, one native multi-threaded encode per batch),
// reduced to what shards store.
import type { ChatMessage, ChatTemplateOptions, Tokenizer } from '@loralab/tokenizer';

/** Ids and assistant-turn token spans `[start, end)` of one conversation. */
export interface EncodedConversation {
  ids: number[];
  assistantSpans: Array<{ message: number; start: number; end: number }>;
}

export class ChatBatchEncoder {
  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly options: ChatTemplateOptions = {},
  ) {}

  /** Encodes conversations; the result for each equals `tokenizer.encodeChat(messages, options)`'s ids and spans. */
  async encode(conversations: ChatMessage[][]): Promise<EncodedConversation[]> {
    const encoded = await this.tokenizer.encodeChatBatch(conversations, this.options);
    return encoded.map(({ ids, assistantSpans }) => ({ ids, assistantSpans }));
  }
}
