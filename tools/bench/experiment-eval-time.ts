// Times each evaluation of the experiment on one model (for sizing the presets).
import { initBackend, loadPretrained } from '@loralab/model';
import { Tokenizer } from '@loralab/tokenizer';
import { resolveExperimentConfig } from '../../packages/cli/src/experiment/config.js';
import { buildEvalSets, evaluateModel } from '../../packages/cli/src/experiment/evaluation.js';
import { readHeldOut } from '../../packages/cli/src/experiment/prepare-data.js';

await initBackend();
const base = process.argv[2] ?? '/tmp/exp/run1/base';
const config = resolveExperimentConfig(JSON.parse(process.env.OVER ?? '{}'));
const tok = await Tokenizer.fromPretrained(base);
const { model } = await loadPretrained(base);
const all = buildEvalSets(config, await readHeldOut(config));
const none = {
  ...all,
  sourceDocs: [],
  choiceItems: [],
  mathLoss: [],
  mathEm: [],
  codeLoss: [],
  codeTasks: [],
  mathDiversity: [],
};
const parts: [string, Partial<typeof all>, boolean, ('ift' | 'cpt')[]][] = [
  ['source ppl', { sourceDocs: all.sourceDocs }, false, []],
  ['source MC', { choiceItems: all.choiceItems }, false, []],
  ['math loss', { mathLoss: all.mathLoss }, false, ['ift']],
  ['code loss', { codeLoss: all.codeLoss }, false, ['cpt']],
  ['math EM', { mathEm: all.mathEm }, true, ['ift']],
  ['math diversity', { mathDiversity: all.mathDiversity }, true, ['ift']],
  ['code pass@1+div', { codeTasks: all.codeTasks }, true, ['cpt']],
];
for (const [name, sets, full, tasks] of parts) {
  const t0 = performance.now();
  const r = await evaluateModel(model, tok, { ...none, ...sets }, config, { tasks, full, seed: 0 });
  console.log(name.padEnd(18), ((performance.now() - t0) / 1000).toFixed(1), 's', JSON.stringify(r.metrics));
}
