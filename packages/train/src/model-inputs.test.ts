import { type Batch, IGNORE_INDEX } from '@loralab/data';
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
