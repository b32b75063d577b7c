// Runs an experiment preset and prints its wall time and the time of each phase (the figures of the experiment's
// budget: the default on two CPU cores in at most 20 minutes, --quick in under 3).
//   npx tsx --conditions=@loralab/source tools/bench/experiment.ts [default|quick] [output dir] [config.json]
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolveExperimentConfig, runExperiment } from '../../packages/cli/src/experiment/index.js';

const preset = (process.argv[2] ?? 'quick') as 'default' | 'quick';
const outputDir = process.argv[3] ?? `/tmp/loralab-experiment-${preset}`;
const partial = process.argv[4] ? JSON.parse(readFileSync(process.argv[4], 'utf8')) : {};
const config = resolveExperimentConfig(partial, preset);
const t0 = performance.now();
const at = () => `[${((performance.now() - t0) / 1000).toFixed(1)}s]`;
const lastShown = new Map<string, number>();
const result = await runExperiment(config, {
  outputDir,
  reporter: {
    log: (line) => console.log(`${at()} ${line}`),
    progress(label, done, total) {
      if (done - (lastShown.get(label) ?? 0) >= 20 || done === total) {
        lastShown.set(label, done);
        console.log(`${at()} ${label} ${done}/${total ?? '?'}`);
      }
    },
  },
});
console.log(
  `\n${preset}: ${result.wallSeconds.toFixed(1)} s wall, load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
for (const [phase, s] of Object.entries(result.results.timings))
  console.log(`  ${phase.padEnd(28)} ${s.toFixed(1)} s`);
console.log(`skipped: ${result.skipped.join(', ') || 'none'}`);
console.log(`report: ${result.report.html}`);
