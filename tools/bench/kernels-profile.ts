// Per-kernel time of one native training step at size a (tf.profile), to see where the step goes.
//   npx tsx --conditions=@loralab/source tools/bench/kernels-profile.ts
import '@tensorflow/tfjs';
import { registerNativeBackend } from '@loralab/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { buildStep } from './kernels-step.js';

const r = registerNativeBackend();
await tf.setBackend(r.backendName);
const { step } = buildStep('native');
step();
const info = await tf.profile(() => {
  step();
});
const by = new Map<string, number>();
for (const k of info.kernels) by.set(k.name, (by.get(k.name) ?? 0) + (k.kernelTimeMs as number));
const total = [...by.values()].reduce((a, b) => a + b, 0);
for (const [name, ms] of [...by.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
  console.log(
    `${name.padEnd(32)} ${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%`,
  );
}
console.log(`total ${total.toFixed(0)} ms`);
