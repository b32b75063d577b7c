// Worker thread of the chat encoder pool: rebuilds the tokenizer from its JSON, says when it is ready, and
// encodes the conversation batches it is sent into packed ids and loss masks, moved back without a copy.
import { parentPort, workerData } from 'node:worker_threads';
import { type ChatMessage, type ChatTemplateOptions, Tokenizer } from '@loralab/tokenizer';
import { ChatBatchEncoder } from './chat-batch-encoder.js';
import type { LossMaskStrategy } from './instruct-formats.js';

interface Init {
  tokenizerJson: string;
  tokenizerConfig: Record<string, unknown>;
  options: ChatTemplateOptions;
  lossMask: LossMaskStrategy;
}

const init = workerData as Init;
const encoder = new ChatBatchEncoder(
  Tokenizer.fromJSON(init.tokenizerJson, init.tokenizerConfig),
  init.options,
);
parentPort!.postMessage({ ready: true });

// Messages are handled as they come: while one batch is in the native encoder, the next one is rendered.
parentPort!.on('message', async (msg: { id: number; conversations: ChatMessage[][] }) => {
  try {
    const packed = await encoder.encodePacked(msg.conversations, init.lossMask);
    parentPort!.postMessage({ id: msg.id, packed }, [
      packed.ids.buffer as ArrayBuffer,
      packed.offsets.buffer as ArrayBuffer,
      packed.masks.buffer as ArrayBuffer,
    ]);
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) });
  }
});
