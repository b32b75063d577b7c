// Builds the base model that @loralab/cli ships (packages/cli/base/): phases 1-2 of the default experiment
// (tokenizer on the built-in corpora, pretraining on the source domain) with `shippedBase: false`, then the
// result in float16 with its recipe fingerprint. The default and quick presets reuse it when the fingerprint
// matches their config. Reproduce with:
//   npx tsx --conditions=@loralab/source tools/bench/experiment-base.ts [work dir]
import { join } from 'node:path';
import {
  DEFAULT_EXPERIMENT,
  exportShippedBase,
  lineReporter,
  runExperiment,
  SHIPPED_BASE_DIR,
} from '../../packages/cli/src/experiment/index.js';

const workDir = process.argv[2] ?? '/tmp/loralab-shipped-base';
const command = 'npx tsx --conditions=@loralab/source tools/bench/experiment-base.ts';
const config = { ...DEFAULT_EXPERIMENT, shippedBase: false, arms: [] };
const t0 = performance.now();
const reporter = lineReporter((l) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${l}`));
reporter.progress = (label, done, total) => {
  if (done % 25 === 0) reporter.log(`${label} ${done}/${total}`);
};
const result = await runExperiment(config, { outputDir: workDir, reporter });
await exportShippedBase(DEFAULT_EXPERIMENT, join(workDir, 'base'), SHIPPED_BASE_DIR, command);
console.log('base metrics', result.results.base.metrics);
console.log(`wrote ${SHIPPED_BASE_DIR} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
