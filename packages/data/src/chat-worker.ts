// Worker thread of the chat encoder pool: rebuilds the tokenizer from its JSON and encodes the
// conversations it is sent with `ChatBatchEncoder`.
import { parentPort, workerData } from 'node:worker_threads';
import { type ChatMessage, type ChatTemplateOptions, Tokenizer } from '@loralab/tokenizer';
import { ChatBatchEncoder } from './chat-batch-encoder.js';

interface Init {
  tokenizerJson: string;
  tokenizerConfig: Record<string, unknown>;
  options: ChatTemplateOptions;
}

const init = workerData as Init;
const encoder = new ChatBatchEncoder(
  Tokenizer.fromJSON(init.tokenizerJson, init.tokenizerConfig),
  init.options,
);

parentPort!.on('message', async (msg: { id: number; conversations: ChatMessage[][] }) => {
  try {
    const out = await encoder.encode(msg.conversations);
    const ids = out.map((e) => Uint32Array.from(e.ids));
    parentPort!.postMessage(
      { id: msg.id, ids, spans: out.map((e) => e.assistantSpans) },
      ids.map((a) => a.buffer as ArrayBuffer),
    );
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) });
  }
});
