// The sandbox's cost per program in a process that has trained, before and after `releaseBackendCaches()`: every
// program is a fork, and a fork copies the parent's page tables, so its cost grows with the trainer's resident memory
// (the native backend's pooled buffers, then the C heap that keeps them). Runs 60 canonical HumanEval programs (all
// cores, the sandbox's automatic isolation) in a fresh process, after two LoRA training steps at size b (8192 tokens),
// and after releaseBackendCaches(); prints resident memory and ms per program for each.
//   npx tsx --conditions=@loralab/source tools/bench/sandbox-after-training.bench.ts
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { evaluateCodeSamples, loadCodeProblems } from '@loralab/eval';
import { LoraModel } from '@loralab/lora';
import { initBackend, LlamaForCausalLM, releaseBackendCaches } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import { benchConfig, SIZES } from './model-sizes.js';

const file = fileURLToPath(new URL('../../../shared/data/humaneval/HumanEval.jsonl.gz', import.meta.url));
if (!existsSync(file)) {
  console.log(`skipped: ${file} is absent (the HumanEval file of ../shared)`);
  process.exit(0);
}
const info = await initBackend('native');
const problems = loadCodeProblems(file);
const samples = [...problems.values()]
  .slice(0, 60)
  .map((p) => ({ task_id: p.task_id, completion: p.canonical_solution }));
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const run = async (label: string) => {
  const t0 = performance.now();
  const ev = await evaluateCodeSamples(problems, samples, { ignoreIncomplete: true });
  const ms = (performance.now() - t0) / samples.length;
  const passed = ev.results.filter((r) => r.passed).length;
  console.log(
    `| ${label} | ${mb(process.memoryUsage().rss)} | ${ms.toFixed(1)} | ${passed}/${samples.length} |`,
  );
};
console.log(`backend ${info.name}; ${samples.length} canonical HumanEval programs per row\n`);
console.log('| process | resident | ms per program | passed |');
console.log('| --- | --- | --- | --- |');
await run('fresh');
const size = SIZES.b!;
const model = new LlamaForCausalLM(benchConfig(size), { seed: 0 });
new LoraModel(model, { r: 16, lora_alpha: 32, target_modules: 'all-linear' });
const parameters = model.trainableParameters();
const ids = {
  data: Int32Array.from({ length: size.tokens }, (_, i) => (i * 7919) % size.vocab),
  shape: [size.tokens / size.seq, size.seq] as [number, number],
};
for (let i = 0; i < 2; i++) {
  const { loss, grads } = model.lossAndGradients(ids, ids, { parameters, checkpoint: true });
  loss.dataSync();
  tf.dispose([loss, ...grads.values()]);
}
await run('after 2 LoRA steps at size b');
const { rssBeforeBytes, rssAfterBytes } = releaseBackendCaches();
await run(`after releaseBackendCaches() (${mb(rssBeforeBytes)} → ${mb(rssAfterBytes)})`);
