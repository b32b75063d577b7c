import { type Batch, IGNORE_INDEX } from '@loralab/data';
import { LlamaForCausalLM } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { modelInputs } from './model-inputs.js';

describe('modelInputs', () => {
  it('feeds [x, y_last] with labels [-100, y], so each of the T targets is trained once', () => {
    const I = IGNORE_INDEX;
    // Two samples, T = 4: a packed one and a padded instruction row (prompt masked, padding after EOS).
    const batch = {
      inputIds: Int32Array.from([5, 6, 7, 8, 1, 9, 3, 2]),
      labels: Int32Array.from([6, 7, 8, 9, I, I, 2, I]),
      batchSize: 2,
      seqLen: 4,
    } as unknown as Batch;
    const x = modelInputs(batch);
    expect(x.ids).toEqual({ data: Int32Array.from([5, 6, 7, 8, 9, 1, 9, 3, 2, 2]), shape: [2, 5] });
    expect(x.labels).toEqual({ data: Int32Array.from([I, 6, 7, 8, 9, I, I, I, 2, I]), shape: [2, 5] });
    expect(x.numTokens).toBe(5);
  });
});

describe('modelInputs on padded rows', () => {
  const I = IGNORE_INDEX;
  // T = 6, the last target of any row at t = 2: positions 3.. are padding in both rows.
  const batch = {
    inputIds: Int32Array.from([4, 5, 6, 0, 0, 0, 7, 8, 0, 0, 0, 0]),
    labels: Int32Array.from([I, 6, 2, I, I, I, 8, 2, I, I, I, I]),
    batchSize: 2,
    seqLen: 6,
  } as unknown as Batch;

  it('cuts the batch after the last target of its longest row', () => {
    const x = modelInputs(batch);
    expect(x.ids).toEqual({ data: Int32Array.from([4, 5, 6, 2, 7, 8, 0, 0]), shape: [2, 4] });
    expect(x.labels).toEqual({ data: Int32Array.from([I, I, 6, 2, I, 8, 2, I]), shape: [2, 4] });
    expect(x.numTokens).toBe(4);
  });

  it('gives the loss and gradients of the full padded width', () => {
    const model = new LlamaForCausalLM(
      {
        vocab_size: 11,
        hidden_size: 8,
        intermediate_size: 16,
        num_hidden_layers: 2,
        num_attention_heads: 2,
        num_key_value_heads: 2,
        max_position_embeddings: 16,
      },
      { seed: 5 },
    );
    try {
      // The full width as the loader gives it: [x, y_last] with labels [-100, y] over all 6 positions.
      const full = {
        data: Int32Array.from([4, 5, 6, 0, 0, 0, 0, 7, 8, 0, 0, 0, 0, 0]),
        shape: [2, 7] as [number, number],
      };
      const fullLabels = {
        data: Int32Array.from([I, I, 6, 2, I, I, I, I, 8, 2, I, I, I, I]),
        shape: [2, 7] as [number, number],
      };
      const x = modelInputs(batch);
      const a = model.lossAndGradients(full, fullLabels);
      const b = model.lossAndGradients(x.ids, x.labels);
      expect(b.numTokens).toBe(a.numTokens);
      expect(b.loss.dataSync()[0]).toBeCloseTo(a.loss.dataSync()[0]!, 5);
      for (const [name, g] of a.grads) {
        const ga = g.dataSync();
        const gb = b.grads.get(name)!.dataSync();
        for (let i = 0; i < ga.length; i++) expect(gb[i], name).toBeCloseTo(ga[i]!, 5);
      }
      tf.dispose([a.loss, b.loss, ...a.grads.values(), ...b.grads.values()]);
    } finally {
      model.dispose();
    }
  });
});
