// Benchmark of padded batches on the native backend (issue 10): one training step (forward + backward, no optimizer)
// of the model benchmark's sizes with LoRA (r = 16, alpha 32, all linear modules) on a batch where every row has
// `--pad` of its tokens as padding. Right padding (the rows mode of instruction finetuning) runs the fused causal
// attention with a key mask; the same amount of padding on the left keeps the tfjs attention path (masked softmax),
// which is what every padded batch ran before the key mask. Both in one process, alternating, best of `--rounds`.
//
//   npx tsx --conditions=@loralab/source tools/bench/model-padded.bench.ts [--sizes a,b] [--pad 0.25] [--rounds 2]
import { loadavg } from 'node:os';
import { LoraModel } from '@loralab/lora';
import { initBackend, LlamaForCausalLM } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import { benchConfig, SIZES } from './model-sizes.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};

async function main(): Promise<void> {
  const sizes = opt('sizes', 'a,b').split(',');
  const pad = Number(opt('pad', '0.25'));
  const rounds = Number(opt('rounds', '2'));
  await initBackend('native');
  console.log(
    `backend ${tf.getBackend()}, padding ${pad} of each row, best of ${rounds}; load ${loadavg().map((x) => x.toFixed(1))}`,
  );
  console.log('\n| size | tokens/step | padding | attention | step s | real tokens/s | loss |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const name of sizes) {
    const size = SIZES[name]!;
    const model = new LlamaForCausalLM(benchConfig(size), { seed: 0 });
    new LoraModel(model, { r: 16, lora_alpha: 32, target_modules: 'all-linear' });
    const B = Math.max(1, Math.floor(size.tokens / size.seq));
    const T = size.seq;
    const P = Math.round(T * pad);
    const ids = Array.from({ length: B }, (_, b) =>
      Array.from({ length: T }, (_, t) => (b * 131 + t * 7) % size.vocab),
    );
    const batch = (left: boolean) => {
      const mask = ids.map((r) => r.map((_, t) => ((left ? t >= P : t < T - P) ? 1 : 0)));
      const input = ids.map((r, b) => r.map((v, t) => (mask[b]![t] ? v : 0)));
      const labels = input.map((r, b) => r.map((v, t) => (mask[b]![t] ? v : -100)));
      return { mask, input, labels };
    };
    const best = new Map<string, { s: number; loss: number }>();
    for (let round = 0; round <= rounds; round++) {
      for (const side of ['right', 'left'] as const) {
        const { mask, input, labels } = batch(side === 'left');
        const t0 = performance.now();
        const r = model.lossAndGradients(input, labels, { attentionMask: mask });
        const loss = r.loss.dataSync()[0]! / r.numTokens;
        tf.dispose([r.loss, ...r.grads.values()]);
        const s = (performance.now() - t0) / 1000;
        if (round === 0) continue; // warm-up
        const prev = best.get(side);
        if (!prev || s < prev.s) best.set(side, { s, loss });
      }
    }
    for (const side of ['right', 'left'] as const) {
      const r = best.get(side)!;
      const path = side === 'right' ? 'fused + key mask' : 'tfjs (masked softmax)';
      const real = B * (T - P);
      console.log(
        `| ${name} | ${B * T} | ${side} ${P}/${T} | ${path} | ${r.s.toFixed(2)} | ${Math.round(real / r.s)} | ${r.loss.toFixed(4)} |`,
      );
    }
    model.dispose();
  }
}

await main();
