// Multiple-choice scoring with and without shared prefixes (`logLikelihood`'s `minSharedPrefix`): the default
// experiment's source multiple-choice tasks (continuation, cloze, word order) on the shipped base, each way timed in
// alternating rounds in one process, with the largest log-likelihood difference between the two ways.
//
//   npx tsx --conditions=@loralab/source tools/bench/multiple-choice.bench.ts [--rounds 3] [--base DIR]
import { parseArgs } from 'node:util';
import { evaluateMultipleChoice, modelLogLikelihood } from '@loralab/eval';
import { initBackend, loadPretrained } from '@loralab/model';
import { Tokenizer } from '@loralab/tokenizer';
import { SHIPPED_BASE_DIR } from '../../packages/cli/src/experiment/base-model.js';
import { DEFAULT_EXPERIMENT } from '../../packages/cli/src/experiment/config.js';
import { buildEvalSets } from '../../packages/cli/src/experiment/evaluation.js';
import { readHeldOut } from '../../packages/cli/src/experiment/prepare-data.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, base: { type: 'string', default: SHIPPED_BASE_DIR } },
});
const rounds = Number(values.rounds);
const backend = await initBackend();
const config = DEFAULT_EXPERIMENT;
const tokenizer = await Tokenizer.fromPretrained(values.base);
const { model } = await loadPretrained(values.base);
const sets = buildEvalSets(config, await readHeldOut(config));
const items = sets.choiceTasks.flatMap((t) => t.items);

// As the experiment scores them (evaluation.ts): batches of 16 rows, 32 requests per call.
const ways = [
  { name: 'whole (minSharedPrefix 0)', minSharedPrefix: 0 },
  { name: 'shared prefixes (default 16)', minSharedPrefix: 16 },
];
const scorer = (minSharedPrefix: number) =>
  modelLogLikelihood(model, tokenizer, {
    batchSize: 16,
    maxLength: config.model.max_position_embeddings,
    minSharedPrefix,
  });
const times = ways.map(() => [] as number[]);
const scores = ways.map(() => [] as number[]);
for (let r = 0; r <= rounds; r++) {
  for (const [w, way] of ways.entries()) {
    const ll = scorer(way.minSharedPrefix);
    const t0 = performance.now();
    const mc = await evaluateMultipleChoice(items, ll, { batchSize: 32 });
    const ms = performance.now() - t0;
    if (r > 0) times[w]!.push(ms); // round 0 warms up
    scores[w] = mc.items.map((s) => s.pred);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const flat = items.flatMap((it) => it.requests);
const all = await Promise.all(
  ways.map(async (way) => {
    const ll = scorer(way.minSharedPrefix);
    const out: number[] = [];
    for (let i = 0; i < flat.length; i += 32)
      out.push(...(await ll.logLikelihood(flat.slice(i, i + 32))).map((x) => x.logLikelihood));
    return out;
  }),
);
const maxDiff = Math.max(...all[0]!.map((x, i) => Math.abs(x - all[1]![i]!)));
const samePreds = scores[0]!.every((p, i) => p === scores[1]![i]);
console.log(
  `backend ${backend.name}; ${items.length} items (${sets.choiceTasks.map((t) => `${t.task} ${t.items.length}`).join(', ')}), ${flat.length} requests; ${rounds} rounds, median`,
);
for (const [w, way] of ways.entries()) {
  console.log(`  ${way.name.padEnd(30)} ${(median(times[w]!) / 1000).toFixed(2)} s`);
}
console.log(
  `  speedup ${(median(times[0]!) / median(times[1]!)).toFixed(2)}x; largest |Δ log-likelihood| ${maxDiff.toExponential(2)}; same predictions: ${samePreds}`,
);
model.dispose();
