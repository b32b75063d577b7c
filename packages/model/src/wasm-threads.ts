// Multithreaded tfjs-wasm under Node. tfjs 4.22 disables its threaded SIMD build in Node (tfjs issue #3830) and,
// in browsers, hands Emscripten `blob:` URLs for the pthread worker and the main script, which Node's
// `worker_threads` cannot load. This module works around both for the duration of the backend's start-up:
//   1. forces the `WASM_HAS_MULTITHREAD_SUPPORT` flag;
//   2. records the text of the Blobs tfjs creates, writes them to files in a temporary folder, and returns those
//      paths from `URL.createObjectURL`; the worker script is edited to load the main script from its file (the
//      main script is prefixed with the CommonJS bindings it expects from the bundle it was cut out of);
//   3. makes `os.cpus()` report twice the wanted thread count, because the XNNPack thread pool is created with
//      half the logical cores, whatever `setThreadsCount` says;
//   4. hands Emscripten a `Worker` class whose instances stop holding the event loop once start-up is over
//      (Emscripten `ref()`s a worker while it runs a pthread, and pool threads run forever, so a process using
//      the threaded build would never exit). Work is dispatched synchronously from the main thread, so nothing
//      waits on the event loop for them.
// Everything patched is restored before it returns.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import workerThreads from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';

const MAIN_PRELUDE =
  "var require$$0 = require('fs'), require$$1 = require('path'), require$$2 = require('worker_threads'), " +
  "require$$3 = require('perf_hooks'), require$$4 = require('os'), commonjsGlobal = globalThis;\n";

/** Runs `start` (which must initialise the wasm backend) with the threaded build and `threads` pool threads. */
export async function withWasmThreads<T>(threads: number, start: () => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(os.tmpdir(), 'loralab-wasm-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const OrigBlob = globalThis.Blob;
  const origCreate = URL.createObjectURL;
  const origCpus = os.cpus;
  let mainPath: string | null = null;
  let n = 0;
  class RecordingBlob extends OrigBlob {
    readonly text_: string;
    constructor(
      parts: ConstructorParameters<typeof Blob>[0] & unknown[],
      options?: ConstructorParameters<typeof Blob>[1],
    ) {
      super(parts, options);
      this.text_ = parts.map(String).join('');
      if (this.text_.startsWith('var WasmBackendModuleThreadedSimd')) {
        mainPath = join(dir, 'tfjs-backend-wasm-threaded-simd.js');
        writeFileSync(mainPath, MAIN_PRELUDE + this.text_);
      }
    }
  }
  globalThis.Blob = RecordingBlob as typeof Blob;
  URL.createObjectURL = (obj: Blob) => {
    if (!(obj instanceof RecordingBlob)) return origCreate(obj);
    let text = obj.text_;
    if (text.includes('importScripts(e.data.urlOrBlob)')) {
      if (!mainPath) throw new Error('tfjs-wasm threads: the worker script came before the main script');
      text = text.replace(
        'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}',
        `if(true){importScripts(${JSON.stringify(mainPath)})}`,
      );
    }
    const path = join(dir, `blob-${n++}.js`);
    writeFileSync(path, text);
    return path;
  };
  os.cpus = () => {
    const cpus = origCpus();
    return Array.from({ length: 2 * threads }, (_, i) => cpus[i % cpus.length]!);
  };
  const OrigWorker = workerThreads.Worker;
  const workers: InstanceType<typeof OrigWorker>[] = [];
  let started = false;
  class DetachedWorker extends OrigWorker {
    constructor(...args: ConstructorParameters<typeof OrigWorker>) {
      super(...args);
      workers.push(this);
      if (started) this.unref();
    }
    override ref(): void {
      if (!started) super.ref();
    }
  }
  (workerThreads as { Worker: typeof OrigWorker }).Worker = DetachedWorker;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  try {
    const result = await start();
    started = true;
    for (const w of workers) w.unref();
    return result;
  } finally {
    globalThis.Blob = OrigBlob;
    URL.createObjectURL = origCreate;
    os.cpus = origCpus;
    (workerThreads as { Worker: typeof OrigWorker }).Worker = OrigWorker;
  }
}
