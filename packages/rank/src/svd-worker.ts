// Worker-thread entry of SvdWorkerPool: runs svd() on matrices posted to it and posts the result back
// with its buffers transferred (no copy on the way back).
import { parentPort } from 'node:worker_threads';
import { svd } from './svd.js';

/** A request from the pool. */
export interface SvdRequest {
  id: number;
  rows: number;
  cols: number;
  data: Float32Array | Float64Array;
  vectors: boolean | 'left';
}

/** The reply: the result's arrays, or the error's name and message. */
export type SvdReply =
  | { id: number; s: Float64Array; u?: Float64Array; vt?: Float64Array }
  | { id: number; error: { name: string; message: string } };

parentPort?.on('message', (req: SvdRequest) => {
  try {
    const r = svd({ rows: req.rows, cols: req.cols, data: req.data }, { vectors: req.vectors });
    const transfer = [r.s.buffer, ...(r.u ? [r.u.data.buffer] : []), ...(r.vt ? [r.vt.data.buffer] : [])];
    const reply: SvdReply = {
      id: req.id,
      s: r.s,
      ...(r.u ? { u: r.u.data } : {}),
      ...(r.vt ? { vt: r.vt.data } : {}),
    };
    parentPort!.postMessage(reply, transfer as ArrayBuffer[]);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    parentPort!.postMessage({
      id: req.id,
      error: { name: err.name, message: err.message },
    } satisfies SvdReply);
  }
});
