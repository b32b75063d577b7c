// Generation throughput at the experiment's shape (issue 18): the shipped base's architecture (random weights),
// B sequences sampled at once from equal-length prompts (pass@1 draws 5 per prompt, 64 rows a batch), with the KV
// cache, temperature 0.2 and top-p 0.95 as the experiment samples, no stop token, so every row runs to the end.
// Prints prefill time, decoding tokens/s and the whole generation, next to the identical model in PyTorch (Debian
// python3-torch, tools/bench/generate_torch.py, same sizes and sampling, KV cache by concatenation as transformers'
// DynamicCache) in the same run; each side's best of --rounds.
//   npx tsx --conditions=@loralab/source tools/bench/generate.bench.ts [--batch 64] [--prompt 150] [--new 48]
//        [--rounds 3] [--backend native] [--torch-threads N]
// PyTorch runs with OPENBLAS_CORETYPE unset (OpenBLAS picks the CPU's best kernels); the core type each side ran
// with is printed.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type BackendName, generate, initBackend, LlamaForCausalLM } from '@loralab/model';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const batch = Number(opt('batch', '64'));
const promptLen = Number(opt('prompt', '150'));
const newTokens = Number(opt('new', '48'));
const rounds = Number(opt('rounds', '3'));
const backend = opt('backend', 'native') as BackendName;
const torchThreads = Number(opt('torch-threads', String(availableParallelism())));
const sampling = { temperature: 0.2, topP: 0.95 };

const baseConfig = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../packages/cli/base/config.json', import.meta.url)), 'utf8'),
);
const shape = {
  vocab: baseConfig.vocab_size as number,
  hidden: baseConfig.hidden_size as number,
  layers: baseConfig.num_hidden_layers as number,
  heads: baseConfig.num_attention_heads as number,
  inter: baseConfig.intermediate_size as number,
};

console.log(
  `node ${process.version}, ${availableParallelism()} cores, load ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}; model: the shipped base's shape ${JSON.stringify(shape)}, random weights`,
);
console.log(
  `batch ${batch} x prompt ${promptLen} tokens, ${newTokens} new tokens each, T ${sampling.temperature} top-p ${sampling.topP}, KV cache; best of ${rounds}`,
);

const resolved = await initBackend(backend);
const model = new LlamaForCausalLM(
  {
    ...baseConfig,
    eos_token_id: null,
    max_position_embeddings: Math.max(baseConfig.max_position_embeddings, promptLen + newTokens),
  },
  { seed: 0 },
);
let state = 12345;
const prompts = Array.from({ length: batch }, () =>
  Array.from({ length: promptLen }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % shape.vocab;
  }),
);
await generate(
  model,
  prompts.map((p) => p.slice(0, 8)),
  { maxNewTokens: 4, ...sampling },
); // warm-up
let best = { prefill: Infinity, total: Infinity };
for (let r = 0; r < rounds; r++) {
  let t0 = performance.now();
  await generate(model, prompts, { maxNewTokens: 1, ...sampling, seed: r });
  const prefill = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const out = await generate(model, prompts, { maxNewTokens: newTokens, ...sampling, seed: r });
  const total = (performance.now() - t0) / 1000;
  if (out.tokens.some((t) => t.length !== newTokens)) throw new Error('a row stopped early');
  if (total < best.total) best = { prefill, total };
}
model.dispose();
const row = (name: string, prefill: number, total: number, core: string) => {
  const decode = (batch * (newTokens - 1)) / (total - prefill);
  console.log(
    `| ${name} | ${core} | ${prefill.toFixed(3)} | ${((1000 * (total - prefill)) / (newTokens - 1)).toFixed(1)} | ${decode.toFixed(0)} | ${total.toFixed(2)} | ${((batch * newTokens) / total).toFixed(0)} |`,
  );
  return decode;
};
console.log(
  '\n| side | OPENBLAS_CORETYPE | prefill s | ms per decoding step | decoding tok/s | whole s | tok/s |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
const ours = row(
  `loralab ${resolved.name}`,
  best.prefill,
  best.total,
  process.env.OPENBLAS_CORETYPE ?? '(unset)',
);

const script = fileURLToPath(new URL('./generate_torch.py', import.meta.url));
let haveTorch = existsSync('/usr/bin/python3');
if (haveTorch) {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    haveTorch = false;
  }
}
if (!haveTorch) {
  console.log('PyTorch row skipped: /usr/bin/python3 cannot import torch (apt-get install python3-torch)');
} else {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  const spec = {
    ...shape,
    batch,
    prompt: promptLen,
    new: newTokens,
    temperature: sampling.temperature,
    top_p: sampling.topP,
  };
  const t = JSON.parse(
    execFileSync('/usr/bin/python3', [script, JSON.stringify(spec), String(torchThreads), String(rounds)], {
      env,
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .at(-1)!,
  ) as { prefill_s: number; total_s: number; threads: number; torch: string };
  const theirs = row(`PyTorch ${t.torch} (${t.threads} threads)`, t.prefill_s, t.total_s, '(unset)');
  console.log(`\ndecoding: loralab / PyTorch = ${(ours / theirs).toFixed(2)}x`);
}
