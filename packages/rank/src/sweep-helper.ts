// A second thread for the bidiagonalisation sweeps: a worker that instantiates the kernel module on the same
// shared WebAssembly memory and runs `sweep` on its share of the rows whenever the calling thread asks.
// The calling thread blocks in Atomics.wait (allowed in Node's main thread), so svd() stays synchronous.
import { Worker } from 'node:worker_threads';
import type { WasmKernels } from './wasm-kernels.js';

// Control block (Int32 slots): 0 generation (−1: exit), 1 acknowledged generation, 2…8 the integer arguments
// (a, n, k, m, w, u, z); Float64 slots 8, 9 (bytes 64…79): tq, tp.
const GEN = 0;
const ACK = 1;

// The worker is plain JavaScript (no TypeScript loader needed in any mode).
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctrl } = workerData;
const sweep = new WebAssembly.Instance(module, { env: { memory } }).exports.sweep;
const c = new Int32Array(ctrl, 0, 16);
const f = new Float64Array(ctrl, 64, 2);
Atomics.store(c, ${ACK}, 0);
Atomics.notify(c, ${ACK});
let gen = 0;
for (;;) {
  Atomics.wait(c, ${GEN}, gen);
  gen = Atomics.load(c, ${GEN});
  if (gen < 0) break;
  sweep(c[2], c[3], c[4], c[5], c[6], c[7], c[8], f[0], f[1]);
  Atomics.store(c, ${ACK}, gen);
  Atomics.notify(c, ${ACK});
}
`;

/** Runs `sweep` calls on a helper thread; `start` returns at once, `finish` blocks until the call is done. */
export interface SweepHelper {
  start(
    a: number,
    n: number,
    k: number,
    m: number,
    w: number,
    u: number,
    z: number,
    tq: number,
    tp: number,
  ): void;
  finish(): void;
  close(): void;
}

/** Starts the helper on the (shared) memory of `kernels`; null if it does not come up within 10 s. */
export function createSweepHelper(kernels: WasmKernels): SweepHelper | null {
  const ctrl = new SharedArrayBuffer(80);
  const c = new Int32Array(ctrl, 0, 16);
  const f = new Float64Array(ctrl, 64, 2);
  c[ACK] = -1;
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { module: kernels.module, memory: kernels.memory, ctrl },
  });
  worker.unref();
  const deadline = Date.now() + 10_000;
  while (Atomics.load(c, ACK) === -1 && Date.now() < deadline) Atomics.wait(c, ACK, -1, 100);
  if (Atomics.load(c, ACK) === -1) {
    void worker.terminate();
    return null;
  }
  let gen = 0;
  return {
    start(a, n, k, m, w, u, z, tq, tp) {
      c.set([a, n, k, m, w, u, z], 2);
      f[0] = tq;
      f[1] = tp;
      gen++;
      Atomics.store(c, GEN, gen);
      Atomics.notify(c, GEN);
    },
    finish() {
      for (let seen = Atomics.load(c, ACK); seen !== gen; seen = Atomics.load(c, ACK))
        Atomics.wait(c, ACK, seen, 1000);
    },
    close() {
      Atomics.store(c, GEN, -1);
      Atomics.notify(c, GEN);
    },
  };
}
