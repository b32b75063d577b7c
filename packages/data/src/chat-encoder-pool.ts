// A pool of worker threads that encode conversations in parallel (template rendering is JavaScript, so
// it needs threads to use more than one core); falls back to encoding in this thread with 0 workers.
import { Worker } from 'node:worker_threads';
import type { ChatMessage, ChatTemplateOptions, Tokenizer } from '@loralab/tokenizer';
import { ChatBatchEncoder, type EncodedConversation } from './chat-batch-encoder.js';
import { DataError } from './errors.js';

interface Pending {
  resolve: (r: EncodedConversation[]) => void;
  reject: (e: Error) => void;
}

export class ChatEncoderPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly local: ChatBatchEncoder | null;
  private nextId = 0;
  private turn = 0;

  /** `threads` worker threads; 0 encodes in the calling thread. */
  constructor(tokenizer: Tokenizer, options: ChatTemplateOptions, threads: number) {
    this.local = threads === 0 ? new ChatBatchEncoder(tokenizer, options) : null;
    // Run from TypeScript sources (tests, tsx), the worker is the .ts file: it registers tsx's loader first.
    const ts = import.meta.url.endsWith('.ts');
    const url = new URL(`./chat-worker.${ts ? 'ts' : 'js'}`, import.meta.url);
    const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
    for (let i = 0; i < threads; i++) {
      const workerData = { tokenizerJson: tokenizer.json, tokenizerConfig: tokenizer.config.raw, options };
      const worker = ts
        ? new Worker(boot, { eval: true, workerData, execArgv: ['--conditions=@loralab/source'] })
        : new Worker(url, { workerData });
      worker.on(
        'message',
        (msg: {
          id: number;
          ids?: Uint32Array[];
          spans?: EncodedConversation['assistantSpans'][];
          error?: string;
        }) => {
          const p = this.pending.get(msg.id);
          if (!p) return;
          this.pending.delete(msg.id);
          if (msg.error !== undefined)
            p.reject(new DataError(`chat encoding failed in a worker thread: ${msg.error}`));
          else
            p.resolve(msg.ids!.map((ids, k) => ({ ids: Array.from(ids), assistantSpans: msg.spans![k]! })));
        },
      );
      worker.on('error', (e) => this.failAll(e));
      this.workers.push(worker);
    }
  }

  get threads(): number {
    return this.workers.length;
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values())
      p.reject(new DataError(`a chat encoder worker thread failed: ${e.message}`, { cause: e }));
    this.pending.clear();
  }

  /** Encodes a batch on the next worker (round robin); results equal `ChatBatchEncoder.encode`'s. */
  encode(conversations: ChatMessage[][]): Promise<EncodedConversation[]> {
    if (this.local) return this.local.encode(conversations);
    const id = this.nextId++;
    const worker = this.workers[this.turn++ % this.workers.length]!;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, conversations });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
