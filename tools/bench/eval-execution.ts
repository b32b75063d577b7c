// Benchmark of @loralab/eval's sandboxed execution: the 164 canonical HumanEval programs end to end
// (spawn, isolation, python3 start-up, tests, verdict), on all cores vs one core, and namespaces vs rlimits.
// Run: npx tsx --conditions=@loralab/source tools/bench/eval-execution.ts [--repeat N]
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { evaluateCodeSamples, loadCodeProblems, probeSandbox, resolveSandboxConfig } from '@loralab/eval';

const file = fileURLToPath(new URL('../../../shared/data/humaneval/HumanEval.jsonl.gz', import.meta.url));
const repeat = Number(process.argv[process.argv.indexOf('--repeat') + 1]) || 1;
const problems = loadCodeProblems(file);
const samples = [...problems.values()].map((p) => ({ task_id: p.task_id, completion: p.canonical_solution }));
const cores = availableParallelism();
const probe = await probeSandbox(resolveSandboxConfig());

console.log(`machine: ${cores} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}`);
console.log(
  `sandbox probe: ${probe.isolation}${probe.dropsPrivileges ? ', unprivileged uid' : ''}${probe.reason ? ` (${probe.reason})` : ''}`,
);
console.log(`programs: ${samples.length} canonical HumanEval solutions x ${repeat} run(s) per setting\n`);

async function measure(label: string, workers: number, isolation: 'namespaces' | 'rlimits'): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < repeat; r++) {
    const t0 = performance.now();
    const ev = await evaluateCodeSamples(problems, samples, { sandbox: { workers, isolation } });
    const s = (performance.now() - t0) / 1000;
    if (ev.passAtK['pass@1'] !== 1) throw new Error(`${label}: not every canonical solution passed`);
    best = Math.min(best, s);
  }
  console.log(
    `${label.padEnd(28)} ${best.toFixed(2).padStart(7)} s  ${(samples.length / best).toFixed(1).padStart(6)} programs/s`,
  );
  return best;
}

const settings: ['namespaces' | 'rlimits', string][] =
  probe.isolation === 'namespaces'
    ? [
        ['namespaces', 'namespaces'],
        ['rlimits', 'rlimits'],
      ]
    : [['rlimits', 'rlimits']];
const times: Record<string, number> = {};
for (const [iso, name] of settings) {
  times[`${name}/all`] = await measure(`${name}, ${cores} workers`, cores, iso);
  times[`${name}/one`] = await measure(`${name}, 1 worker`, 1, iso);
}
console.log('');
for (const [, name] of settings) {
  console.log(
    `${name}: all cores vs one core: ${(times[`${name}/one`]! / times[`${name}/all`]!).toFixed(2)}x`,
  );
}
if (probe.isolation === 'namespaces') {
  console.log(
    `namespaces cost vs rlimits (all cores): ${(times['namespaces/all']! / times['rlimits/all']!).toFixed(2)}x time`,
  );
}
