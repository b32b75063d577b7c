// Logits, loss and gradients against tools/reference/model_golden.py (PyTorch, float64) for a tied and an untied
// GQA model. Tolerances (float32 here vs float64 there): logits and loss 1e-5 relative to the largest magnitude,
// gradients 1e-4 relative to the largest gradient entry of that parameter.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LlamaForCausalLM, loadPretrained, ropeInverseFrequencies } from '../src/index.js';
import { BACKENDS, expectClose, useBackend } from './helpers.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');

interface GoldenModel {
  folder: string;
  input_ids: number[][];
  labels: number[][];
  logits: number[];
  loss_sum: number;
  num_tokens: number;
  inv_freq: number[];
  grads: Record<string, number[]>;
}
const golden = JSON.parse(readFileSync(join(FIXTURES, 'golden.json'), 'utf8')) as {
  models: Record<string, GoldenModel>;
};

for (const backend of BACKENDS) {
  for (const [name, g] of Object.entries(golden.models)) {
    describe(`golden ${name} on ${backend}`, () => {
      let model: LlamaForCausalLM;
      beforeAll(async () => {
        await useBackend(backend);
        ({ model } = await loadPretrained(join(FIXTURES, g.folder)));
      });
      afterAll(() => model.dispose());

      it('has the reference rotary frequencies', () => {
        expectClose(ropeInverseFrequencies(model.config), g.inv_freq, { rtol: 1e-6 }, 'inv_freq');
      });

      it('matches logits', async () => {
        const logits = model.forward(g.input_ids);
        expectClose(await logits.data(), g.logits, { rtol: 1e-5 }, 'logits');
        logits.dispose();
      });

      it('matches the summed loss, token count and gradients', async () => {
        const before = tf.memory().numTensors;
        const { loss, numTokens, grads } = model.lossAndGradients(g.input_ids, g.labels);
        expect(numTokens).toBe(g.num_tokens);
        expect(Math.abs((await loss.data())[0]! - g.loss_sum)).toBeLessThan(1e-5 * Math.abs(g.loss_sum));
        for (const [key, ref] of Object.entries(g.grads)) {
          const grad = grads.get(key);
          expect(grad, key).toBeDefined();
          expectClose(await grad!.data(), ref, { rtol: 1e-4 }, `grad ${key}`);
        }
        tf.dispose([loss, ...grads.values()]);
        expect(tf.memory().numTensors).toBe(before);
      });
    });
  }
}
