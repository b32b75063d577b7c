// The periodic evaluation hook: the built-in held-out loss and the `Evaluator` interface for anything else
// (benchmarks of @loralab/eval, perplexity on a source domain, ...).
import { DataLoader } from '@loralab/data';
import type { LlamaForCausalLM } from '@loralab/model';
import { modelInputs } from './model-inputs.js';

/** What an evaluator sees: the model being trained (with the LoRA adapter applied for method `lora`). */
export interface EvalContext {
  model: LlamaForCausalLM;
  /** Optimizer steps completed. */
  step: number;
  /** Real tokens seen. */
  tokensSeen: number;
}

/** A pluggable evaluation: its results are logged as `eval/<name>/<key>`. It must not change the weights. */
export interface Evaluator {
  name: string;
  run(ctx: EvalContext): Promise<Record<string, number>>;
}

export interface HeldOutLossOptions {
  task: 'cpt' | 'ift';
  seqLen: number;
  microBatchSize: number;
  /** Micro-batches to evaluate, or null for the whole set. */
  batches: number | null;
}

/**
 * Mean next-token loss over the target tokens of (the first `batches` micro-batches of) a tokenized dataset, in
 * eval mode (no dropout), in a fixed order: Σ loss / Σ tokens, so every token weighs the same.
 */
export async function heldOutLoss(
  model: LlamaForCausalLM,
  loader: DataLoader,
  batches: number | null,
): Promise<{ loss: number; tokens: number }> {
  let sum = 0;
  let tokens = 0;
  let n = 0;
  for await (const batch of loader.batches()) {
    if (batches !== null && n >= batches) break;
    n++;
    const x = modelInputs(batch);
    if (x.numTokens === 0) continue;
    const r = model.loss(x.ids, x.labels, { training: false });
    sum += (await r.loss.data())[0]!;
    r.loss.dispose();
    tokens += r.numTokens;
  }
  return { loss: tokens > 0 ? sum / tokens : Number.NaN, tokens };
}

/** An evaluator of the held-out loss of the dataset in `dir` (result keys `loss` and `tokens`). */
export async function createHeldOutEvaluator(
  name: string,
  dir: string,
  options: HeldOutLossOptions,
): Promise<Evaluator> {
  const loader = await DataLoader.open(dir, {
    mode: options.task === 'cpt' ? 'pack' : 'rows',
    seqLen: options.seqLen,
    batchSize: options.microBatchSize,
    shuffle: false,
    epochs: 1,
    rank: 0,
    worldSize: 1,
  });
  return {
    name,
    async run({ model }) {
      const r = await heldOutLoss(model, loader, options.batches);
      return { loss: r.loss, tokens: r.tokens };
    },
  };
}
