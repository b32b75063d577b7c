// @loralab/lora benchmark: what LoRA costs and saves against the plain model, measured in the same run.
// Variants run interleaved, round after round, and each reports its fastest round (robust on a shared machine):
// - training step (loss + gradients): full finetuning vs LoRA r=16 on all linears (frozen base: no dW products), and
//   LoRA with lora_dropout 0.05 (PEFT's and the paper's setting; a second model with the same weights)
// - forward: base (adapters disabled), LoRA unmerged (two thin extra products per linear), LoRA merged
// - merge + unmerge of every adapter, and PiSSA init (exact Jacobi SVD vs randomized niter=4) on one MLP weight
// Run: npx tsx --conditions=@loralab/source tools/bench/lora.bench.ts   (LORALAB_BACKEND picks the backend)
import { LoraModel } from '@loralab/lora';
import { initBackend, LlamaForCausalLM } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import { pissaInit } from '../../packages/lora/src/pissa.js';

const backend = await initBackend();
const config = {
  vocab_size: 2048,
  hidden_size: 256,
  intermediate_size: 688,
  num_hidden_layers: 4,
  num_attention_heads: 8,
  num_key_value_heads: 4,
};
const B = 4;
const T = 64;
const ROUNDS = 4;
const ids = Array.from({ length: B }, (_, b) =>
  Array.from({ length: T }, (_, t) => (b * 131 + t * 17) % config.vocab_size),
);

/** Each case: `setup` (untimed), `run` (timed), `teardown` (untimed). Returns the fastest round of each, in ms. */
function interleaved(cases: Record<string, { setup?: () => void; run: () => void; teardown?: () => void }>) {
  const best: Record<string, number> = {};
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [name, c] of Object.entries(cases)) {
      c.setup?.();
      const t0 = performance.now();
      c.run();
      const ms = performance.now() - t0;
      c.teardown?.();
      if (round > 0) best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, ms); // round 0 warms up
    }
  }
  for (const [name, ms] of Object.entries(best))
    console.log(`${name.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms`);
  return best;
}

const model = new LlamaForCausalLM(config, { seed: 0 });
const lora = new LoraModel(model, {
  r: 16,
  lora_alpha: 32,
  target_modules: 'all-linear',
  init_lora_weights: false,
});
console.log(
  `backend ${JSON.stringify(backend)}; model d=${config.hidden_size}, L=${config.num_hidden_layers}, batch ${B}x${T}`,
);
console.log(lora.trainableParameterReport().text);
const step = (parameters?: ReturnType<typeof lora.trainableParameters>) => () => {
  const { loss, grads } = model.lossAndGradients(ids, ids, parameters ? { parameters } : {});
  loss.dataSync();
  tf.dispose([loss, ...grads.values()]);
};
const forward = () => void model.forward(ids).dataSync();
const dropModel = new LlamaForCausalLM(config, { seed: 0 });
new LoraModel(dropModel, {
  r: 16,
  lora_alpha: 32,
  lora_dropout: 0.05,
  target_modules: 'all-linear',
  init_lora_weights: false,
});
const dropStep = () => {
  const { loss, grads } = dropModel.lossAndGradients(ids, ids);
  loss.dataSync();
  tf.dispose([loss, ...grads.values()]);
};

const s = interleaved({
  'full finetuning step': {
    setup: () => {
      lora.disableAdapterLayers();
      model.setTrainable(true);
    },
    run: step([...model.parameters().values()]),
    teardown: () => {
      model.setTrainable(false);
      lora.enableAdapterLayers();
    },
  },
  'LoRA r=16 all-linear step': { run: step() },
  'LoRA r=16 all-linear step, lora_dropout 0.05': { run: dropStep },
  'forward, base (adapters disabled)': {
    setup: () => lora.disableAdapterLayers(),
    run: forward,
    teardown: () => lora.enableAdapterLayers(),
  },
  'forward, LoRA unmerged': { run: forward },
  'forward, LoRA merged': { setup: () => lora.merge(), run: forward, teardown: () => lora.unmerge() },
  'merge + unmerge, 28 linears': {
    run: () => {
      lora.merge();
      lora.unmerge();
    },
  },
});
const base = s['forward, base (adapters disabled)']!;
console.log(
  `ratios: LoRA step / FFT step ${(s['LoRA r=16 all-linear step']! / s['full finetuning step']!).toFixed(2)}; ` +
    `LoRA step with / without dropout ${(s['LoRA r=16 all-linear step, lora_dropout 0.05']! / s['LoRA r=16 all-linear step']!).toFixed(2)}; ` +
    `unmerged / base forward ${(s['forward, LoRA unmerged']! / base).toFixed(2)}; ` +
    `merged / base forward ${(s['forward, LoRA merged']! / base).toFixed(2)}; ` +
    `merge+unmerge / base forward ${(s['merge + unmerge, 28 linears']! / base).toFixed(2)}`,
);
lora.unload();
dropModel.dispose();

const w = model.parameter('model.layers.0.mlp.up_proj.weight').variable.dataSync() as Float32Array;
const [out, inp] = [config.intermediate_size, config.hidden_size];
const t0 = performance.now();
pissaInit(w, out, inp, 16, 2, null, Math.random);
const exact = performance.now() - t0;
const t1 = performance.now();
pissaInit(w, out, inp, 16, 2, 4, Math.random);
const fast = performance.now() - t1;
console.log(
  `PiSSA init r=16 on (${out}, ${inp}): exact SVD ${exact.toFixed(0)} ms, niter=4 ${fast.toFixed(0)} ms, ratio ${(exact / fast).toFixed(1)}`,
);
model.dispose();
