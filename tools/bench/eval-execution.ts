// Benchmark of @loralab/eval's sandboxed execution: the 164 canonical HumanEval programs end to end
// (spawn, isolation, python3 start-up, tests, verdict), on all cores vs one core, namespaces vs rlimits, and
// against bare `python3 -c PROGRAM` subprocesses (no sandbox at all) run the same way: the sandbox's overhead.
// Run: npx tsx --conditions=@loralab/source tools/bench/eval-execution.ts [--repeat N]
import { spawn } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  buildProgram,
  evaluateCodeSamples,
  loadCodeProblems,
  planIsolation,
  probeSandbox,
  resolveSandboxConfig,
} from '@loralab/eval';

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
const report = await planIsolation(resolveSandboxConfig());
console.log(`isolation (auto): ${report.mode}; processes: ${report.processCap}; memory: ${report.memory}`);
console.log(`programs: ${samples.length} canonical HumanEval solutions x ${repeat} run(s) per setting\n`);
const programs = [...problems.values()].map((p) => buildProgram(p, p.canonical_solution));
const python = resolveSandboxConfig().python;

/** The reference: each program as `python3 -c PROGRAM`, `workers` at a time, no sandbox, exit status 0 needed. */
async function timeBare(workers: number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < programs.length) {
      const program = programs[next++]!;
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(python, ['-c', program], { stdio: ['ignore', 'ignore', 'ignore'] });
        child.on('close', resolve);
      });
      if (code !== 0) throw new Error(`bare python3: a canonical solution exited with ${code}`);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return (performance.now() - t0) / 1000;
}

async function timeOnce(workers: number, isolation: 'namespaces' | 'rlimits' | 'bare'): Promise<number> {
  if (isolation === 'bare') return timeBare(workers);
  const t0 = performance.now();
  const ev = await evaluateCodeSamples(problems, samples, { sandbox: { workers, isolation } });
  if (ev.passAtK['pass@1'] !== 1)
    throw new Error(`${isolation}/${workers}: not every canonical solution passed`);
  return (performance.now() - t0) / 1000;
}

// Settings are measured round-robin, best of `repeat`, so that load from other jobs hits them alike.
const settings = (
  probe.isolation === 'namespaces'
    ? (['bare', 'namespaces', 'rlimits'] as const)
    : (['bare', 'rlimits'] as const)
).flatMap((isolation) =>
  [cores, 1].map((workers) => ({ isolation, workers, best: Number.POSITIVE_INFINITY })),
);
const loads: number[] = [];
for (let r = 0; r < repeat; r++) {
  for (const s of settings) {
    s.best = Math.min(s.best, await timeOnce(s.workers, s.isolation));
    loads.push(loadavg()[0]!);
  }
}
const best = (isolation: string, workers: number) =>
  settings.find((s) => s.isolation === isolation && s.workers === workers)!.best;
for (const s of settings) {
  const name = s.isolation === 'bare' ? 'bare python3' : s.isolation;
  const label = `${name}, ${s.workers} worker${s.workers > 1 ? 's' : ''}`;
  console.log(
    `${label.padEnd(28)} ${s.best.toFixed(2).padStart(7)} s  ${(samples.length / s.best).toFixed(1).padStart(6)} programs/s`,
  );
}
console.log('');
for (const isolation of new Set(settings.map((s) => s.isolation))) {
  console.log(
    `${isolation}: all cores vs one core: ${(best(isolation, 1) / best(isolation, cores)).toFixed(2)}x`,
  );
}
if (probe.isolation === 'namespaces') {
  console.log(
    `namespaces vs rlimits (all cores): ${(best('namespaces', cores) / best('rlimits', cores)).toFixed(2)}x time`,
  );
}
for (const isolation of new Set(settings.map((s) => s.isolation).filter((i) => i !== 'bare'))) {
  for (const workers of [cores, 1]) {
    console.log(
      `${isolation} vs bare python3 (${workers} worker${workers > 1 ? 's' : ''}): ${(best(isolation, workers) / best('bare', workers)).toFixed(2)}x time`,
    );
  }
}
console.log(
  `load average (1 min) during the runs: ${Math.min(...loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)}`,
);
