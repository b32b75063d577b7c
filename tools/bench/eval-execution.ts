// Benchmark of @loralab/eval's sandboxed execution: the 164 canonical HumanEval programs end to end
// (spawn, isolation, python3 start-up, tests, verdict), on all cores vs one core, namespaces vs rlimits, and
// against bare `python3 -c PROGRAM` subprocesses (no sandbox at all) run the same way: the sandbox's overhead.
// Run: npx tsx --conditions=@loralab/source tools/bench/eval-execution.ts [--repeat N]
import { execSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

async function runOnce(workers: number, isolation: 'namespaces' | 'rlimits' | 'bare'): Promise<void> {
  if (isolation === 'bare') return void (await timeBare(workers));
  const ev = await evaluateCodeSamples(problems, samples, { sandbox: { workers, isolation } });
  if (ev.passAtK['pass@1'] !== 1)
    throw new Error(`${isolation}/${workers}: not every canonical solution passed`);
}

/**
 * CPU seconds of this process and of every descendant it (transitively) waited for: /proc/self/stat's cutime and
 * cstime. Less sensitive than wall time to other jobs on the machine.
 */
const clockTicks = Number(execSync('getconf CLK_TCK').toString().trim());
function cpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  const own = process.cpuUsage();
  return (Number(fields[13]) + Number(fields[14])) / clockTicks + (own.user + own.system) / 1e6;
}

// Settings are measured round-robin, best of `repeat`, so that load from other jobs hits them alike.
const settings = (
  probe.isolation === 'namespaces'
    ? (['bare', 'namespaces', 'rlimits'] as const)
    : (['bare', 'rlimits'] as const)
).flatMap((isolation) =>
  [cores, 1].map((workers) => ({
    isolation,
    workers,
    wall: Number.POSITIVE_INFINITY,
    cpu: Number.POSITIVE_INFINITY,
  })),
);
const loads: number[] = [];
for (let r = 0; r < repeat; r++) {
  for (const s of settings) {
    const c0 = cpuSeconds();
    const t0 = performance.now();
    await runOnce(s.workers, s.isolation);
    s.wall = Math.min(s.wall, (performance.now() - t0) / 1000);
    s.cpu = Math.min(s.cpu, cpuSeconds() - c0);
    loads.push(loadavg()[0]!);
  }
}
const find = (isolation: string, workers: number) =>
  settings.find((s) => s.isolation === isolation && s.workers === workers)!;
const n = samples.length;
console.log(
  `${'setting'.padEnd(28)} ${'wall'.padStart(9)} ${'programs/s'.padStart(11)} ${'CPU ms/program'.padStart(15)}`,
);
for (const s of settings) {
  const name = s.isolation === 'bare' ? 'bare python3' : s.isolation;
  const label = `${name}, ${s.workers} worker${s.workers > 1 ? 's' : ''}`;
  console.log(
    `${label.padEnd(28)} ${s.wall.toFixed(2).padStart(7)} s ${(n / s.wall).toFixed(1).padStart(11)} ${((1000 * s.cpu) / n).toFixed(1).padStart(15)}`,
  );
}
console.log('');
for (const isolation of new Set(settings.map((s) => s.isolation))) {
  const ratio = find(isolation, 1).wall / find(isolation, cores).wall;
  console.log(`${isolation}: all cores vs one core: ${ratio.toFixed(2)}x`);
}
for (const isolation of new Set(settings.map((s) => s.isolation).filter((i) => i !== 'bare'))) {
  for (const workers of [cores, 1]) {
    const s = find(isolation, workers);
    const bare = find('bare', workers);
    console.log(
      `${isolation} vs bare python3 (${workers} worker${workers > 1 ? 's' : ''}): ${(s.wall / bare.wall).toFixed(2)}x wall time, ${(s.cpu / bare.cpu).toFixed(2)}x CPU time`,
    );
  }
}
console.log(
  `load average (1 min) during the runs: ${Math.min(...loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)}`,
);
