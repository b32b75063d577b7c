// Batched encoding of conversations for instruction data: `Tokenizer.encodeChatBatch` (one template render per
// conversation, the skeleton cached per conversation shape, one native multi-threaded encode per batch),
// reduced to what shards store.
import type { ChatMessage, ChatTemplateOptions, Tokenizer } from '@loralab/tokenizer';
import { type LossMaskStrategy, lossMaskFor } from './instruct-formats.js';

/** Ids and assistant-turn token spans `[start, end)` of one conversation. */
export interface EncodedConversation {
  ids: number[];
  assistantSpans: Array<{ message: number; start: number; end: number }>;
}

/**
 * A batch of encoded conversations packed into three flat arrays (cheap to move between threads):
 * conversation `i` is `ids[offsets[i] .. offsets[i+1])` with its loss mask at the same positions of `masks`.
 */
export interface PackedConversations {
  ids: Uint32Array;
  offsets: Int32Array;
  masks: Uint8Array;
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

  /** Encodes conversations into packed ids and `lossMask` masks. */
  async encodePacked(
    conversations: ChatMessage[][],
    lossMask: LossMaskStrategy,
  ): Promise<PackedConversations> {
    const encoded = await this.encode(conversations);
    const offsets = new Int32Array(encoded.length + 1);
    for (const [i, e] of encoded.entries()) offsets[i + 1] = offsets[i]! + e.ids.length;
    const total = offsets[encoded.length]!;
    const ids = new Uint32Array(total);
    const masks = new Uint8Array(total);
    for (const [i, e] of encoded.entries()) {
      ids.set(e.ids, offsets[i]!);
      masks.set(lossMaskFor(lossMask, e.ids.length, e.assistantSpans), offsets[i]!);
    }
    return { ids, offsets, masks };
  }
}
