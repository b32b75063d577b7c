// Runs an experiment preset and prints its wall time, CPU time and the time of each phase (the figures of the
// experiment's budget: the default on two CPU cores in at most 20 minutes, --quick in at most 2), with the load.
//   npx tsx --conditions=@loralab/source tools/bench/experiment.ts [default|quick] [output dir] [config .json/.yaml]
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../../packages/cli/src/config-file.js';
import { resolveExperimentConfig, runExperiment } from '../../packages/cli/src/experiment/index.js';

const preset = (process.argv[2] ?? 'quick') as 'default' | 'quick';
const outputDir = process.argv[3] ?? `/tmp/loralab-experiment-${preset}`;
const partial = process.argv[4] ? loadConfigFile(process.argv[4]) : {};
const config = resolveExperimentConfig(partial, preset);
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const loads: number[] = [];
const sampler = setInterval(() => loads.push(loadavg()[0]!), 10_000);
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
clearInterval(sampler);
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const meanLoad = loads.length ? loads.reduce((a, b) => a + b, 0) / loads.length : loadavg()[0]!;
// The phases summed over units: training steps, evaluation by kind of work, rank analysis.
const units = result.results.units;
const total = (f: (u: (typeof units)[number]) => number) => units.reduce((a, u) => a + f(u), 0);
const phase = (key: 'losses' | 'choices' | 'generate' | 'execute') => total((u) => u.evalPhases?.[key] ?? 0);
const t = result.results.timings;
const summary = [
  ['tokenize (tokenizer, datasets)', (t.tokenizer ?? 0) + (t.datasets ?? 0)],
  ['base (load or pretrain, evaluate)', t.base ?? 0],
  ['train (optimizer steps, all units)', total((u) => u.wallSeconds - u.evalSeconds)],
  ['evaluate: losses and perplexity', phase('losses')],
  ['evaluate: multiple choice', phase('choices')],
  ['evaluate: generate (greedy and sampled)', phase('generate')],
  ['evaluate: execute programs (sandbox)', phase('execute')],
  ['rank analysis (SVD)', total((u) => u.rankSeconds)],
] as const;
const lines = [
  `${preset}: ${result.wallSeconds.toFixed(1)} s wall, ${cpuSeconds.toFixed(1)} s CPU (this process, all threads), ${cpus().length} cores, mean 1-min load ${meanLoad.toFixed(1)} (${loads.length} samples); backend ${result.results.environment.backend}`,
  'phases (summed over units):',
  ...summary.map(([name, s]) => `  ${name.padEnd(44)} ${s.toFixed(1)} s`),
  'each phase:',
  ...Object.entries(t).map(([name, s]) => `  ${name.padEnd(44)} ${s.toFixed(1)} s`),
  `skipped: ${result.skipped.join(', ') || 'none'}`,
  `report: ${result.report.html}`,
];
console.log(`\n${lines.join('\n')}`);
writeFileSync(join(outputDir, 'bench-timing.txt'), `${lines.join('\n')}\n`);
