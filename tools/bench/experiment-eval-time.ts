// Times each evaluation of the experiment on one model (for sizing the presets).
import { initBackend, loadPretrained } from '@loralab/model';
import { Tokenizer } from '@loralab/tokenizer';
import { resolveExperimentConfig } from '../../packages/cli/src/experiment/config.js';
import { buildEvalSets, evaluateModel } from '../../packages/cli/src/experiment/evaluation.js';
import type { Condition } from '../../packages/cli/src/experiment/plan.js';
import { readHeldOut } from '../../packages/cli/src/experiment/prepare-data.js';

await initBackend();
const base = process.argv[2] ?? '/tmp/exp/run1/base';
const config = resolveExperimentConfig(JSON.parse(process.env.OVER ?? '{}'));
const tok = await Tokenizer.fromPretrained(base);
const { model } = await loadPretrained(base);
const all = buildEvalSets(config, await readHeldOut(config));
const empty = { sourceDocs: [], choiceTasks: [] };
const parts: [string, Partial<typeof all>, boolean, Condition | null][] = [
  ['source ppl', { sourceDocs: all.sourceDocs }, false, null],
  ['source MC', { choiceTasks: all.choiceTasks }, true, null],
  ['math loss', { math: { ...all.math, em: [], diversity: [] } }, false, 'ift-math'],
  ['code loss', { code: { ...all.code, tasks: [] } }, false, 'cpt-code'],
  ['math EM+div', { math: { ...all.math, loss: [] } }, true, 'ift-math'],
  ['code pass@1+div', { code: { ...all.code, loss: [] } }, true, 'cpt-code'],
];
for (const [name, sets, full, condition] of parts) {
  const t0 = performance.now();
  const r = await evaluateModel(model, tok, { ...all, ...empty, ...sets }, config, {
    condition,
    full,
    seed: 0,
  });
  console.log(name.padEnd(18), ((performance.now() - t0) / 1000).toFixed(1), 's', JSON.stringify(r.metrics));
}
