// `loralab experiment plan | run-unit | merge | jobs`: the experiment's units as independent jobs (a Slurm job
// array, a Kubernetes Indexed Job, or N local processes) writing into one run folder, and the merge that builds the
// one report from them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyOverrides, type ConfigObject } from '../config-file.js';
import { UsageError } from '../errors.js';
import { formatDuration } from '../progress.js';
import {
  BACKEND_OPTION,
  booleanFlag,
  buildConfig,
  type CommandContext,
  type CommandSpec,
  numberFlag,
  setOverrides,
  stringFlag,
} from './command.js';
import { printReport } from './experiment-run.js';

/** The resolved experiment config of a command line: preset, CONFIG file, flags, then `--set`. */
export async function experimentConfigOf(ctx: CommandContext) {
  const file = ctx.positionals[0];
  if (file && stringFlag(ctx, 'config')) {
    throw new UsageError(
      'give the config as an argument or with --config, not both',
      ctx.command.path.join(' '),
    );
  }
  const quick = booleanFlag(ctx, 'quick');
  const flags = {
    seed: numberFlag(ctx, 'seed', { integer: true, min: 0 }),
    backend: stringFlag(ctx, 'backend'),
  };
  const partial = buildConfig(ctx, { flags, ...(file && { file }), overrides: false });
  const { resolveExperimentConfig } = await import('../experiment/index.js');
  const preset = quick ? 'quick' : 'default';
  // --set applies to the resolved config, so list elements of the preset can be changed (`arms.1.r=8`).
  const resolved = resolveExperimentConfig(partial, preset);
  const config = resolveExperimentConfig(
    applyOverrides(resolved as unknown as ConfigObject, setOverrides(ctx)),
    preset,
  );
  return { config, quick, file };
}

const PRESET_OPTIONS = {
  quick: { type: 'boolean', description: 'the smoke-test preset' },
  seed: { type: 'string', value: 'N', description: 'the base seed (default 0)' },
  backend: BACKEND_OPTION,
} as const;

export const experimentPlan: CommandSpec = {
  path: ['experiment', 'plan'],
  summary: "list the experiment's units (arm × learning rate × seed), one per line, with their index",
  usage: '[options] [CONFIG]',
  options: { ...PRESET_OPTIONS, json: { type: 'boolean', description: 'one JSON object per unit' } },
  config: true,
  positionals: { min: 0, max: 1 },
  examples: ['loralab experiment plan', 'loralab experiment plan --quick --json'],
  async run(ctx) {
    const { config } = await experimentConfigOf(ctx);
    const { planUnits } = await import('../experiment/index.js');
    for (const u of planUnits(config)) {
      if (booleanFlag(ctx, 'json'))
        ctx.out(JSON.stringify({ index: u.index, id: u.id, lr: u.lr, seed: u.seed, steps: u.steps }));
      else ctx.out(`${String(u.index).padStart(3)}  ${u.id}  (${u.steps} steps)`);
    }
    return 0;
  },
};

export const experimentRunUnit: CommandSpec = {
  path: ['experiment', 'run-unit'],
  summary:
    "run this process's units of a run folder (a job array task); the shared phases run once under a lock",
  usage: '[options] RUN_DIR',
  description: `Reads RUN_DIR/config.json (written by 'loralab experiment jobs' or 'run') and runs one unit (--index K) or
this process's share: units i with i % world_size == rank, rank and world size from --rank/--world-size, else
LORALAB_RANK/LORALAB_WORLD_SIZE, SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN) of SLURM_ARRAY_TASK_COUNT, or
JOB_COMPLETION_INDEX with LORALAB_WORLD_SIZE (the same resolution as 'data prepare' and 'eval humaneval'). The first
process runs the shared phases (tokenizer, datasets, base) under RUN_DIR/.prepare.lock; the others wait for them.
Each unit writes RUN_DIR/units/<id>/result.json; 'loralab experiment merge RUN_DIR' builds the report.`,
  options: {
    index: { type: 'string', value: 'K', description: 'run unit K of the plan only' },
    rank: { type: 'string', value: 'R', description: 'this process is rank R (with --world-size)' },
    'world-size': { type: 'string', value: 'N', description: 'of N processes (with --rank)' },
    backend: BACKEND_OPTION,
  },
  graceful: true,
  positionals: { min: 1, max: 1 },
  examples: [
    'loralab experiment run-unit runs/sweep --index 3',
    'LORALAB_RANK=1 LORALAB_WORLD_SIZE=4 loralab experiment run-unit runs/sweep',
  ],
  async run(ctx) {
    const runDir = ctx.positionals[0]!;
    const ex = await import('../experiment/index.js');
    let config = ex.readRunConfig(runDir);
    const backend = stringFlag(ctx, 'backend');
    if (backend && backend !== config.backend) config = { ...config, backend };
    const select = ex.unitsForProcess(config, {
      index: numberFlag(ctx, 'index', { integer: true, min: 0 }) ?? null,
      rank: numberFlag(ctx, 'rank', { integer: true, min: 0 }) ?? null,
      worldSize: numberFlag(ctx, 'world-size', { integer: true, min: 1 }) ?? null,
    });
    ctx.reporter.log(
      `run-unit: rank ${select.rank} of ${select.worldSize} (from ${select.from}): ${select.units.length} of ${ex.planUnits(config).length} units`,
    );
    const t0 = performance.now();
    // A --backend that differs from the folder's config changes only which backend runs; the folder's record decides.
    const { skipped } = await ex.runUnits(
      backend ? { ...config, backend } : config,
      select.units,
      runDir,
      ctx.reporter,
      ctx.signal,
    );
    if (ctx.signal.aborted) return 0;
    ctx.out(
      `run-unit: ${select.units.length - skipped.filter((s) => s.startsWith('unit:')).length} units run, ${skipped.filter((s) => s.startsWith('unit:')).length} already finished, in ${formatDuration((performance.now() - t0) / 1000)}`,
    );
    return 0;
  },
};

export const experimentMerge: CommandSpec = {
  path: ['experiment', 'merge'],
  summary: "build results.json and the report from a run folder's finished units",
  usage: 'RUN_DIR',
  description: `Reads RUN_DIR/config.json, the shared phases' markers and every unit's RUN_DIR/units/<id>/result.json,
and writes RUN_DIR/results.json, report.html and report.md. Refuses, naming them, units that have not finished
(UnitMergeError), units of another config, unit folders not in the plan, and units of another backend
(BackendMismatchError).`,
  options: {},
  positionals: { min: 1, max: 1 },
  examples: ['loralab experiment merge runs/sweep'],
  async run(ctx) {
    const { mergeRun } = await import('../experiment/index.js');
    const { report } = await mergeRun(ctx.positionals[0]!);
    printReport(ctx, report);
    return 0;
  },
};

export const experimentJobs: CommandSpec = {
  path: ['experiment', 'jobs'],
  summary:
    'write the run folder and a Slurm array script or Kubernetes Indexed Job, or run N local processes',
  usage: '[options] --output DIR (--slurm | --k8s | --local N) [CONFIG]',
  description: `Writes DIR/config.json (the resolved config, as 'experiment run' would use it) and then either
DIR/experiment.sbatch (--slurm: a job array, task i running units i, i+N, ...), DIR/experiment-job.yaml (--k8s: an
Indexed Job with LORALAB_WORLD_SIZE set), or runs N local processes of 'loralab experiment run-unit DIR' with
LORALAB_RANK/LORALAB_WORLD_SIZE (--local N: the tested simulation of both) and merges their units into one report.
--tasks sets the array size (default: one task per unit).`,
  options: {
    ...PRESET_OPTIONS,
    output: {
      type: 'string',
      short: 'o',
      value: 'DIR',
      description: 'the run folder (shared by every task)',
    },
    slurm: { type: 'boolean', description: 'write DIR/experiment.sbatch' },
    k8s: { type: 'boolean', description: 'write DIR/experiment-job.yaml' },
    local: { type: 'string', value: 'N', description: 'run N local processes, then merge' },
    tasks: { type: 'string', value: 'N', description: 'array tasks (default: the number of units)' },
    command: { type: 'string', value: 'CMD', description: 'how a node starts loralab (default loralab)' },
    image: { type: 'string', value: 'IMAGE', description: 'container image of the Kubernetes job' },
  },
  config: true,
  graceful: true,
  positionals: { min: 0, max: 1 },
  examples: [
    'loralab experiment jobs --slurm -o /shared/runs/sweep && sbatch /shared/runs/sweep/experiment.sbatch',
    'loralab experiment jobs --k8s -o /runs/sweep --image registry/loralab:0.1',
    'loralab experiment jobs --quick --local 4 -o runs/quick-local',
  ],
  async run(ctx) {
    const { config } = await experimentConfigOf(ctx);
    const outputDir = stringFlag(ctx, 'output');
    if (!outputDir)
      throw new UsageError('missing --output DIR (the run folder every task shares)', 'experiment jobs');
    const modes = ['slurm', 'k8s', 'local'].filter(
      (m) => ctx.values[m] !== undefined && ctx.values[m] !== false,
    );
    if (modes.length !== 1)
      throw new UsageError('give exactly one of --slurm, --k8s, --local N', 'experiment jobs');
    const ex = await import('../experiment/index.js');
    const units = ex.planUnits(config).length;
    const tasks = numberFlag(ctx, 'tasks', { integer: true, min: 1, max: units }) ?? units;
    ex.writeRunConfig(config, outputDir);
    const options = {
      outputDir,
      tasks,
      ...(stringFlag(ctx, 'command') ? { command: stringFlag(ctx, 'command')! } : {}),
      ...(stringFlag(ctx, 'image') ? { image: stringFlag(ctx, 'image')! } : {}),
    };
    if (modes[0] === 'slurm') {
      const file = join(outputDir, 'experiment.sbatch');
      writeFileSync(file, ex.slurmArrayScript(options));
      ctx.out(
        `${units} units in ${tasks} array tasks: ${file}\nsubmit: sbatch ${file}; then: loralab experiment merge ${outputDir}`,
      );
      return 0;
    }
    if (modes[0] === 'k8s') {
      const file = join(outputDir, 'experiment-job.yaml');
      writeFileSync(file, ex.k8sIndexedJob(options));
      ctx.out(
        `${units} units in ${tasks} indexed completions: ${file}\napply: kubectl apply -f ${file}; then: loralab experiment merge ${outputDir}`,
      );
      return 0;
    }
    const n = numberFlag(ctx, 'local', { integer: true, min: 1, max: units }) ?? 1;
    ctx.reporter.log(`jobs: ${units} units in ${n} local processes (logs in ${join(outputDir, 'logs')})`);
    const t0 = performance.now();
    await ex.runLocalJobs(outputDir, n, {
      signal: ctx.signal,
      onExit: (rank, code) => ctx.reporter.log(`jobs: rank ${rank} exited ${code}`),
    });
    const { report } = await ex.mergeRun(outputDir);
    printReport(ctx, report);
    ctx.out(`wall time ${formatDuration((performance.now() - t0) / 1000)}`);
    return 0;
  },
};
