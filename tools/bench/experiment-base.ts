// Builds the base model that @loralab/cli ships (packages/cli/base/): phases 1-2 of the default experiment
// (tokenizer on the built-in corpora, pretraining on the source domain; SHIPPED_BASE_RECIPE) with
// `shippedBase: false`, then the result in float16 with its recipe fingerprint. The default and quick presets reuse
// it when the fingerprint matches their config. Reproduce with:
//   npx tsx --conditions=@loralab/source tools/bench/experiment-base.ts [work dir] [--out DIR]
// Rerunning with the same work dir resumes its pretraining from the newest checkpoint.
import { join } from 'node:path';
import {
  DEFAULT_EXPERIMENT,
  exportShippedBase,
  lineReporter,
  runExperiment,
  SHIPPED_BASE_DIR,
} from '../../packages/cli/src/experiment/index.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const [value] = args.splice(i, 2).slice(1);
  if (!value) throw new Error(`${name} needs a value`);
  return value;
};
const outDir = flag('--out') ?? SHIPPED_BASE_DIR;
const workDir = args[0] ?? '/tmp/loralab-shipped-base';
const command = 'npx tsx --conditions=@loralab/source tools/bench/experiment-base.ts';
const config = { ...DEFAULT_EXPERIMENT, shippedBase: false, arms: [] };
const t0 = performance.now();
const reporter = lineReporter((l) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${l}`));
reporter.progress = (label, done, total) => {
  if (done % 25 === 0) reporter.log(`${label} ${done}/${total}`);
};
const result = await runExperiment(config, { outputDir: workDir, reporter });
await exportShippedBase(DEFAULT_EXPERIMENT, join(workDir, 'base'), outDir, command);
console.log('base metrics', result.results.base.metrics);
console.log(`wrote ${outDir} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
