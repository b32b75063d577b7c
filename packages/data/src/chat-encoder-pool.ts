// A pool of worker threads that encode conversations in parallel (template rendering is JavaScript, so
// it needs threads to use more than one core); with 0 workers, or while the workers start, this thread encodes.
import { Worker } from 'node:worker_threads';
import type { ChatMessage, ChatTemplateOptions, Tokenizer } from '@loralab/tokenizer';
import { ChatBatchEncoder, type PackedConversations } from './chat-batch-encoder.js';
import { DataError } from './errors.js';
import type { LossMaskStrategy } from './instruct-formats.js';

interface Pending {
  resolve: (r: PackedConversations) => void;
  reject: (e: Error) => void;
}

interface Lane {
  worker: Worker;
  ready: boolean;
  /** Batches sent and not yet answered. */
  busy: number;
}

/**
 * Batches a worker holds at once: it renders one while the previous one is in the native encoder, so
 * neither its thread nor the encoder waits for the other.
 */
export const WORKER_DEPTH = 2;

export class ChatEncoderPool {
  private readonly lanes: Lane[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly local: ChatBatchEncoder;
  private nextId = 0;
  private readonly started: Promise<void>;
  /** Batches encoded in this thread and on the workers so far. */
  readonly batches = { local: 0, workers: 0 };

  /** `threads` worker threads; 0 encodes in the calling thread. Masks follow `lossMask`. */
  constructor(
    tokenizer: Tokenizer,
    options: ChatTemplateOptions,
    threads: number,
    private readonly lossMask: LossMaskStrategy,
  ) {
    this.local = new ChatBatchEncoder(tokenizer, options);
    // Run from TypeScript sources (tests, tsx), the worker is the .ts file: it registers tsx's loader first.
    const ts = import.meta.url.endsWith('.ts');
    const url = new URL(`./chat-worker.${ts ? 'ts' : 'js'}`, import.meta.url);
    const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
    const workerData = {
      tokenizerJson: tokenizer.json,
      tokenizerConfig: tokenizer.config.raw,
      options,
      lossMask,
    };
    const readies: Array<Promise<void>> = [];
    for (let i = 0; i < threads; i++) {
      const worker = ts
        ? new Worker(boot, { eval: true, workerData, execArgv: ['--conditions=@loralab/source'] })
        : new Worker(url, { workerData });
      const lane: Lane = { worker, ready: false, busy: 0 };
      let readyNow = () => {};
      readies.push(new Promise((resolve) => (readyNow = resolve)));
      worker.on(
        'message',
        (msg: { ready?: true; id: number; packed?: PackedConversations; error?: string }) => {
          if (msg.ready) {
            lane.ready = true;
            readyNow();
            return;
          }
          const p = this.pending.get(msg.id);
          if (!p) return;
          this.pending.delete(msg.id);
          lane.busy--;
          if (msg.error !== undefined)
            p.reject(new DataError(`chat encoding failed in a worker thread: ${msg.error}`));
          else p.resolve(msg.packed!);
        },
      );
      worker.on('error', (e) => this.failAll(e));
      this.lanes.push(lane);
    }
    this.started = Promise.all(readies).then(() => {});
  }

  /** Resolves when every worker has loaded the tokenizer and can take batches. */
  ready(): Promise<void> {
    return this.started;
  }

  get threads(): number {
    return this.lanes.length;
  }

  /** Batches the pool can work on at once without any waiting in a queue. */
  get capacity(): number {
    return this.lanes.length === 0 ? 1 : WORKER_DEPTH * this.lanes.length;
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values())
      p.reject(new DataError(`a chat encoder worker thread failed: ${e.message}`, { cause: e }));
    this.pending.clear();
  }

  /**
   * Encodes a batch on the least busy ready worker, or in this thread while no worker is ready yet (starting a
   * worker takes about a second: this thread does not wait for it). Results equal `ChatBatchEncoder`'s.
   */
  encode(conversations: ChatMessage[][]): Promise<PackedConversations> {
    let lane: Lane | null = null;
    for (const l of this.lanes) if (l.ready && (!lane || l.busy < lane.busy)) lane = l;
    if (!lane) {
      this.batches.local++;
      return this.local.encodePacked(conversations, this.lossMask);
    }
    this.batches.workers++;
    const id = this.nextId++;
    lane.busy++;
    const worker = lane.worker;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, conversations });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.worker.terminate()));
  }
}
