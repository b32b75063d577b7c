import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { maxDiff, NATIVE, SKIP_NATIVE, uniform } from '../test/helpers.js';
import type { NativeBackend } from './native-backend.js';
import { registerNativeBackend } from './register.js';

// (128, 128) · (128, 256): a 32,768-element output, large enough to be pooled.
const A = uniform([128, 128], 1);
const B = uniform([128, 256], 2);
const B2 = uniform([128, 256], 3);

async function on(name: string): Promise<NativeBackend> {
  await tf.setBackend(name);
  return tf.backend() as NativeBackend;
}

const product = (b: typeof B) =>
  tf.tidy(() => tf.matMul(tf.tensor(A.data, A.shape), tf.tensor(b.data, b.shape)));

/** The product on the native backend, read out (so its buffer escapes the pool). */
async function expected(b: typeof B): Promise<Float32Array> {
  await tf.setBackend(NATIVE);
  const y = product(b);
  const v = Float32Array.from(y.dataSync());
  y.dispose();
  return v;
}

describe.skipIf(SKIP_NATIVE)('output buffer pool of the native backend', () => {
  it('reuses the buffer of a disposed output for the next output of that length', async () => {
    const want = await expected(B2);
    const nb = await on(NATIVE);
    const before = tf.memory().numTensors;
    product(B).dispose();
    const s0 = nb.poolStats();
    const y = product(B2);
    const s1 = nb.poolStats();
    expect(s1.reused).toBe(s0.reused + 1);
    expect(s1.freeBytes).toBe(s0.freeBytes - 128 * 256 * 4);
    expect(maxDiff(y.dataSync() as Float32Array, want).diff).toBe(0);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps a buffer out of the pool while a slice (a view of it) lives', async () => {
    const first = await expected(B);
    const nb = await on(NATIVE);
    const x = product(B);
    const view = tf.slice(x, [0, 0], [64, 256]); // contiguous: a subarray of x's buffer
    x.dispose();
    const s0 = nb.poolStats();
    const y = product(B2);
    expect(nb.poolStats().reused).toBe(s0.reused); // x's buffer is still seen through the view
    expect(maxDiff(view.dataSync() as Float32Array, first.subarray(0, 64 * 256)).diff).toBe(0);
    tf.dispose([view, y]);
  });

  it('never recycles values handed out by dataSync', async () => {
    const nb = await on(NATIVE);
    const x = product(B);
    const values = x.dataSync();
    const copy = Float32Array.from(values);
    x.dispose();
    const s0 = nb.poolStats();
    const y = product(B2);
    expect(nb.poolStats().reused).toBe(s0.reused);
    expect(maxDiff(values as Float32Array, copy).diff).toBe(0);
    y.dispose();
  });

  it('evicts the oldest free buffers past its limit and keeps none when the limit is 0', async () => {
    const small = registerNativeBackend({ backendName: 'pool-test-1mib', bufferPoolMiB: 1, notice: false });
    const nb = await on(small.backendName);
    const ys = Array.from({ length: 12 }, () => product(B)); // 12 × 128 KiB
    tf.dispose(ys);
    const s = nb.poolStats();
    expect(s.freeBytes).toBe(8 * 128 * 1024);
    expect(s.droppedBytes).toBe(4 * 128 * 1024);
    // Over the limit the oldest free buffers go: two 256 KiB outputs freed now evict four of the 128 KiB ones, and
    // the next 256 KiB output reuses one of them.
    const wide = uniform([128, 512], 5);
    tf.dispose([product(wide), product(wide)]);
    expect(nb.poolStats().freeBytes).toBe(4 * 128 * 1024 + 2 * 256 * 1024);
    expect(nb.poolStats().droppedBytes).toBe(8 * 128 * 1024);
    const reused = nb.poolStats().reused;
    product(wide).dispose();
    expect(nb.poolStats().reused).toBe(reused + 1);
    nb.clearPool();
    expect(nb.poolStats().freeBytes).toBe(0);

    const off = registerNativeBackend({ backendName: 'pool-test-off', bufferPoolMiB: 0, notice: false });
    const nbOff = await on(off.backendName);
    tf.dispose([product(B), product(B)]);
    expect(nbOff.poolStats()).toEqual({ reused: 0, fresh: 0, freeBytes: 0, droppedBytes: 0 });
  });

  it('poisons outputs in the test suites (LORALAB_POOL_POISON=1), so unwritten elements show up', async () => {
    const nb = await on(NATIVE);
    expect(nb.poison).toBe(process.env.LORALAB_POOL_POISON === '1');
    if (!nb.poison) return;
    expect(Number.isNaN(nb.alloc(5)[0])).toBe(true);
    expect(nb.zeros(1 << 15).every((v) => v === 0)).toBe(true);
  });
});
