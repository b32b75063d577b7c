// Per-kernel time of one training step (tf.profile), to see where a step goes. On the native backend each kernel is
// marked native or `cpu` (a fallback to the tfjs cpu backend's JavaScript kernel), with its call count.
//   npx tsx --conditions=@loralab/source tools/bench/model-profile.ts [backend=wasm] [size=a] [tokens=1024] [wasmThreads=1]
//        [variant=fft|lora] [checkpoint=on|off]
import { NATIVE_KERNEL_NAMES } from '@loralab/kernels';
import { LoraModel } from '@loralab/lora';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, initBackend, LlamaForCausalLM } from '../../packages/model/src/index.js';
import { benchConfig, SIZES } from './model-sizes.js';

const [
  backend = 'wasm',
  sizeName = 'a',
  tokensArg = '1024',
  threadsArg = '1',
  variant = 'fft',
  checkpoint = 'on',
] = process.argv.slice(2);
console.log(await initBackend(backend as BackendName, { wasmThreads: Number(threadsArg) }));
const size = SIZES[sizeName]!;
const model = new LlamaForCausalLM(benchConfig(size), { seed: 0 });
if (variant === 'lora') new LoraModel(model, { r: 16, lora_alpha: 32, target_modules: 'all-linear' });
const parameters = model.trainableParameters();
const B = Math.max(1, Math.floor(Number(tokensArg) / size.seq));
const ids = {
  data: Int32Array.from({ length: B * size.seq }, (_, i) => (i * 7919) % size.vocab),
  shape: [B, size.seq] as [number, number],
};
const step = () => {
  const { loss, grads } = model.lossAndGradients(ids, ids, { parameters, checkpoint: checkpoint !== 'off' });
  loss.dataSync();
  tf.dispose([loss, ...grads.values()]);
};
step();
const t0 = performance.now();
step();
console.log(`step ${(performance.now() - t0).toFixed(0)} ms for ${B * size.seq} tokens`);
const info = await tf.profile(step);
const byName = new Map<string, number>();
const calls = new Map<string, number>();
const byShape = new Map<string, number>();
const shapeCalls = new Map<string, number>();
// Floating-point work of a BatchMatMul call: 2 · |output| · k, with k = |a| · n / |output| (whichever of a's two last
// dimensions is k, and whatever the batch).
const flops = new Map<string, number>();
const count = (s: number[]) => s.reduce((p, d) => p * d, 1);
for (const k of info.kernels) {
  if (k.name === 'unnamed scope') continue; // customGrad scopes: their kernels are listed on their own
  const ms = (await k.kernelTimeMs) as number;
  byName.set(k.name, (byName.get(k.name) ?? 0) + ms);
  calls.set(k.name, (calls.get(k.name) ?? 0) + 1);
  const key = `${k.name} ${k.inputShapes.map((s) => JSON.stringify(s)).join('x')}`;
  byShape.set(key, (byShape.get(key) ?? 0) + ms);
  shapeCalls.set(key, (shapeCalls.get(key) ?? 0) + 1);
  const out = k.outputShapes[0] as number[] | undefined;
  if (k.name === 'BatchMatMul' && out !== undefined && k.inputShapes[0] !== undefined) {
    const work = 2 * count(k.inputShapes[0] as number[]) * out[out.length - 1]!;
    flops.set(key, (flops.get(key) ?? 0) + work);
    flops.set('BatchMatMul', (flops.get('BatchMatMul') ?? 0) + work);
  }
}
const rate = (key: string, ms: number) =>
  flops.has(key) ? ` ${(flops.get(key)! / ms / 1e6).toFixed(1).padStart(6)} GFLOP/s` : '';
const total = [...byName.values()].reduce((a, b) => a + b, 0);
console.log(`kernel total ${total.toFixed(0)} ms`);
const native = new Set(NATIVE_KERNEL_NAMES);
const where = (k: string) => (backend !== 'native' ? '' : native.has(k) ? 'native' : 'cpu');
for (const [k, v] of [...byName].sort((a, b) => b[1] - a[1])) {
  console.log(
    `${k.padEnd(28)} ${v.toFixed(0).padStart(7)} ms ${((100 * v) / total).toFixed(1).padStart(5)}% ${String(calls.get(k)).padStart(5)} calls ${where(k)}${rate(k, v)}`,
  );
}
if (backend === 'native') {
  const fallback = [...calls].filter(([k]) => !native.has(k));
  const ms = fallback.reduce((a, [k]) => a + byName.get(k)!, 0);
  console.log(
    `cpu-backend fallbacks: ${fallback.reduce((a, [, n]) => a + n, 0)} calls of ${fallback.length} kernels, ${ms.toFixed(0)} ms`,
  );
}
console.log('');
for (const [k, v] of [...byShape].sort((a, b) => b[1] - a[1]).slice(0, 20))
  console.log(
    `${k.padEnd(60)} ${v.toFixed(0).padStart(7)} ms ${String(shapeCalls.get(k)).padStart(4)} calls${rate(k, v)}`,
  );
process.exit(0);
