// Peak tensor bytes of one training step (tf.profile's peakBytes) next to the process's peak RSS.
//   npx tsx tools/bench/model-memory.ts [backend=wasm] [size=a] [tokens=8192]
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, initBackend, LlamaForCausalLM } from '../../packages/model/src/index.js';
import { benchConfig, SIZES } from './model-sizes.js';

const [backend = 'wasm', sizeName = 'a', tokensArg = '8192'] = process.argv.slice(2);
await initBackend(backend as BackendName);
const size = SIZES[sizeName]!;
const model = new LlamaForCausalLM(benchConfig(size), { seed: 0 });
const B = Math.max(1, Math.floor(Number(tokensArg) / size.seq));
const ids = {
  data: Int32Array.from({ length: B * size.seq }, (_, i) => (i * 7919) % size.vocab),
  shape: [B, size.seq] as [number, number],
};
const weights = tf.memory().numBytes;
const info = await tf.profile(() => {
  const { loss, grads } = model.lossAndGradients(ids, ids);
  loss.dataSync();
  tf.dispose([loss, ...grads.values()]);
});
const mb = (b: number) => (b / 2 ** 20).toFixed(0);
console.log(
  `size ${sizeName}, ${B * size.seq} tokens: weights ${mb(weights)} MB, step peak tensors ${mb(info.peakBytes)} MB, ` +
    `peak RSS ${mb(process.resourceUsage().maxRSS * 1024)} MB`,
);
process.exit(0);
