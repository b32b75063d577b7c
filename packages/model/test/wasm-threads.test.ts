// The threaded wasm build under Node (src/wasm-threads.ts): it starts with two pool threads and computes the same
// values as the reference. Runs in its own test file because the thread count is fixed per process.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend, loadPretrained } from '../src/index.js';
import { expectClose } from './helpers.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');

describe('wasm threads', () => {
  it('starts the threaded build with 2 threads and matches the golden logits and gradients', async () => {
    const info = await initBackend('wasm', { wasmThreads: 2 });
    expect(info).toEqual({ name: 'wasm', tfjsBackend: 'wasm', threads: 2, precision: 'fp32' });
    const g = JSON.parse(readFileSync(join(FIXTURES, 'golden.json'), 'utf8')).models.untied;
    const { model } = await loadPretrained(join(FIXTURES, g.folder));
    const logits = model.forward(g.input_ids);
    expectClose(await logits.data(), g.logits, { rtol: 1e-5 }, 'logits');
    const { loss, grads } = model.lossAndGradients(g.input_ids, g.labels);
    expect(Math.abs((await loss.data())[0]! - g.loss_sum)).toBeLessThan(1e-5 * g.loss_sum);
    const key = 'model.layers.1.mlp.down_proj.weight';
    expectClose(await grads.get(key)!.data(), g.grads[key], { rtol: 1e-4 }, key);
    // a product large enough for XNNPack to split across threads
    const a = tf.randomNormal([128, 256], 0, 1, 'float32', 1);
    const b = tf.randomNormal([256, 192], 0, 1, 'float32', 2);
    const y = tf.matMul(a, b);
    const ref = tf.sum(tf.mul(tf.expandDims(a, 2), tf.expandDims(b, 0)), 1); // broadcast-and-sum, no matmul kernel
    expectClose(await y.data(), await ref.data(), { atol: 1e-3 }, 'matmul');
    tf.dispose([logits, loss, ...grads.values(), a, b, y, ref]);
    model.dispose();
  });
});
