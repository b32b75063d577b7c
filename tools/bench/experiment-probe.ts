// Throughput probe for choosing the experiment's model size: one training step (forward+backward) per size on wasm.
import { type BackendName, initBackend, LlamaForCausalLM } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';

const b = await initBackend((process.env.LORALAB_BACKEND ?? 'wasm') as BackendName);
console.log(b);
const sizes = (process.env.SIZES ?? '128x4,96x3,64x2').split(',');
const V = Number(process.env.VOCAB ?? 2048);
const T = Number(process.env.SEQ ?? 128);
const B = Number(process.env.BATCH ?? 16);
for (const s of sizes) {
  const [d, L] = s.split('x').map(Number) as [number, number];
  const model = new LlamaForCausalLM(
    {
      vocab_size: V,
      hidden_size: d,
      intermediate_size: Math.ceil((8 * d) / 3 / 32) * 32,
      num_hidden_layers: L,
      num_attention_heads: d / 32,
      num_key_value_heads: d / 32,
    },
    { seed: 0 },
  );
  const ids = Array.from({ length: B }, (_, i) => Array.from({ length: T }, (_, j) => (i * 7 + j * 13) % V));
  let total = 0;
  for (let it = 0; it < 4; it++) {
    const t0 = performance.now();
    const { loss, grads } = model.lossAndGradients(ids, ids, { checkpoint: process.env.CKPT !== '0' });
    await loss.data();
    loss.dispose();
    for (const g of grads.values()) g.dispose();
    const dt = performance.now() - t0;
    if (it > 0) total += dt;
  }
  const fwd0 = performance.now();
  for (let it = 0; it < 3; it++) {
    const r = model.loss(ids, ids);
    await r.loss.data();
    r.loss.dispose();
  }
  const fwd = (performance.now() - fwd0) / 3;
  let params = 0;
  for (const p of model.parameters().values()) params += p.variable.size;
  console.log(
    `${s} params=${params} step=${(total / 3).toFixed(0)}ms tok/s=${((B * T) / (total / 3 / 1000)).toFixed(0)} fwd tok/s=${((B * T) / (fwd / 1000)).toFixed(0)} tensors=${tf.memory().numTensors}`,
  );
  model.dispose();
}
