// A loader batch as the model's inputs. The loader gives x (B, T) and the already-shifted targets y (B, T) (y[t] is
// the token after x[t]); the model takes Hugging Face labels, shifted inside, and predicts from positions 0..T'-2.
// Feeding (B, T+1) ids [x, y_{T-1}] with labels [IGNORE, y] trains exactly the loader's T targets per sample:
// position t < T predicts labels[t+1] = y[t]; the extra last position predicts nothing and, being last under the
// causal mask, changes no other position.
// Padded rows (instruction data) are cut after the last target of the batch's longest row: under the causal mask the
// positions after it change no earlier position and carry no target, so loss and gradients are those of the full
// width, at the cost of the real tokens only.
import { type Batch, IGNORE_INDEX } from '@loralab/data';
import type { IdsInput } from '@loralab/model';

export interface ModelInputs {
  /** (B, T+1) token ids. */
  ids: IdsInput;
  /** (B, T+1) Hugging Face labels. */
  labels: IdsInput;
  /** Target tokens (labels that are not IGNORE_INDEX). */
  numTokens: number;
}

export function modelInputs(batch: Batch): ModelInputs {
  const { batchSize: B, seqLen } = batch;
  // T: the loader's positions up to the last target of any row (all of them for packed text).
  let T = 0;
  for (let b = 0; b < B && T < seqLen; b++) {
    for (let t = seqLen - 1; t >= T; t--) {
      if (batch.labels[b * seqLen + t] !== IGNORE_INDEX) {
        T = t + 1;
        break;
      }
    }
  }
  T = Math.max(T, 1);
  const U = T + 1;
  const ids = new Int32Array(B * U);
  const labels = new Int32Array(B * U);
  let numTokens = 0;
  for (let b = 0; b < B; b++) {
    const o = b * seqLen;
    ids.set(batch.inputIds.subarray(o, o + T), b * U);
    const last = batch.labels[o + T - 1]!;
    ids[b * U + T] = last >= 0 ? last : batch.inputIds[o + T - 1]!;
    labels[b * U] = IGNORE_INDEX;
    for (let t = 0; t < T; t++) {
      const y = batch.labels[o + t]!;
      labels[b * U + t + 1] = y;
      if (y !== IGNORE_INDEX) numTokens++;
    }
  }
  return { ids: { data: ids, shape: [B, U] }, labels: { data: labels, shape: [B, U] }, numTokens };
}
