// The job layer: the plan's units as independent jobs of an existing scheduler (a Slurm job array, a Kubernetes
// Indexed Job) or of N local processes (the tested simulation of both). Every job runs
// `loralab experiment run-unit OUTPUT`, which takes its share of units by the one rank resolution of @loralab/data
// (LORALAB_RANK, SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX); `loralab experiment merge OUTPUT` builds the report.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExperimentError } from './errors.js';

/** What a generated job script needs. */
export interface JobScriptOptions {
  /** The run folder (on a filesystem every node shares); its config.json is the experiment. */
  outputDir: string;
  /** Number of array tasks / completions: the plan's units, or fewer (each then takes units[rank::N]). */
  tasks: number;
  /** The command that starts loralab on a node (default `loralab`). */
  command?: string;
  /** Tensor backend every task uses (default: the config's). */
  backend?: string | null;
  /** Slurm: extra `#SBATCH` lines (`--partition=cpu`, `--time=1:00:00`, ...); Kubernetes: the container image. */
  sbatch?: string[];
  image?: string;
  /** Kubernetes: the name of the Job and of a PersistentVolumeClaim mounted at the run folder. */
  name?: string;
  volumeClaim?: string;
  /** CPUs per task. Default 2. */
  cpus?: number;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * An sbatch script: a `prepare` step runs first in each task under the run folder's lock (the shared phases run
 * once; the other tasks wait for them), then the task's units. A task runs its sweep units first (the plan lists
 * them first) and a chosen-lr unit waits until its arm's sweep units have finished in whatever task runs them, so
 * a throttled array (`--array=...%K`) must let every task that holds sweep units start. Submit with `sbatch`, then
 * merge with
 * `sbatch --dependency=afterok:<jobid> --wrap 'loralab experiment merge OUTPUT'` or by hand.
 */
export function slurmArrayScript(o: JobScriptOptions): string {
  const cmd = o.command ?? 'loralab';
  const backend = o.backend ? ` --backend ${o.backend}` : '';
  return `#!/bin/bash
# The experiment in ${resolve(o.outputDir)} as a Slurm job array: task i runs units i, i+${o.tasks}, ... of the plan.
# Submit:  jobid=$(sbatch --parsable THIS_FILE)
# Merge:   sbatch --dependency=afterok:$jobid --wrap ${quote(`${cmd} experiment merge ${resolve(o.outputDir)}`)}
#SBATCH --job-name=loralab-experiment
#SBATCH --array=0-${o.tasks - 1}
#SBATCH --cpus-per-task=${o.cpus ?? 2}
#SBATCH --output=${resolve(o.outputDir)}/logs/slurm-%A_%a.log
${(o.sbatch ?? []).map((l) => `#SBATCH ${l}`).join('\n')}
set -euo pipefail
# rank = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN, world size = SLURM_ARRAY_TASK_COUNT (read by loralab itself)
exec ${cmd} experiment run-unit ${quote(resolve(o.outputDir))}${backend}
`.replace(/\n\n+/g, '\n');
}

/**
 * A Kubernetes Indexed Job manifest (YAML): completions = parallelism = `tasks`; each pod's JOB_COMPLETION_INDEX is
 * its rank and LORALAB_WORLD_SIZE the number of completions. The run folder is a shared PersistentVolumeClaim.
 */
export function k8sIndexedJob(o: JobScriptOptions): string {
  const name = o.name ?? 'loralab-experiment';
  const out = resolve(o.outputDir);
  const args = ['experiment', 'run-unit', out, ...(o.backend ? ['--backend', o.backend] : [])];
  return `# The experiment in ${out} as a Kubernetes Indexed Job: pod i runs units i, i+${o.tasks}, ... of the plan.
# Apply: kubectl apply -f THIS_FILE; when it completes: loralab experiment merge ${out}
apiVersion: batch/v1
kind: Job
metadata:
  name: ${name}
spec:
  completionMode: Indexed
  completions: ${o.tasks}
  parallelism: ${o.tasks}
  backoffLimitPerIndex: 1
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: loralab
          image: ${o.image ?? 'loralab:latest'}
          command: [${JSON.stringify(o.command ?? 'loralab')}]
          args: [${args.map((a) => JSON.stringify(a)).join(', ')}]
          env:
            - name: LORALAB_WORLD_SIZE
              value: "${o.tasks}"
          resources:
            requests:
              cpu: "${o.cpus ?? 2}"
          volumeMounts:
            - name: runs
              mountPath: ${JSON.stringify(out)}
      volumes:
        - name: runs
          persistentVolumeClaim:
            claimName: ${o.volumeClaim ?? 'loralab-runs'}
`;
}

/** How to start `loralab` in a child process: the built bin, or the sources through tsx. */
function cliCommand(): { exec: string; args: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const main = fileURLToPath(new URL('../main.ts', import.meta.url));
    return { exec: process.execPath, args: ['--import', 'tsx', '--conditions=@loralab/source', main] };
  }
  return { exec: process.execPath, args: [fileURLToPath(new URL('../../bin/loralab.js', import.meta.url))] };
}

/**
 * The local simulation of a job array: `n` processes of `loralab experiment run-unit OUTPUT`, each with
 * LORALAB_RANK = i and LORALAB_WORLD_SIZE = n, logs in `OUTPUT/logs/local-i.log`. Resolves when all have exited;
 * rejects naming the ranks that failed.
 */
export async function runLocalJobs(
  outputDir: string,
  n: number,
  options: { extraArgs?: string[]; onExit?: (rank: number, code: number) => void; signal?: AbortSignal } = {},
): Promise<void> {
  const { exec, args } = cliCommand();
  mkdirSync(join(outputDir, 'logs'), { recursive: true });
  const exits = await Promise.all(
    Array.from({ length: n }, (_, rank) => {
      const log = openSync(join(outputDir, 'logs', `local-${rank}.log`), 'w');
      const child = spawn(
        exec,
        [...args, 'experiment', 'run-unit', outputDir, ...(options.extraArgs ?? [])],
        {
          env: { ...process.env, LORALAB_RANK: String(rank), LORALAB_WORLD_SIZE: String(n) },
          stdio: ['ignore', log, log],
          ...(options.signal ? { signal: options.signal } : {}),
        },
      );
      return new Promise<number>((done) => {
        child.on('error', () => done(1));
        child.on('exit', (code) => {
          options.onExit?.(rank, code ?? 1);
          done(code ?? 1);
        });
      });
    }),
  );
  const failed = exits.map((c, r) => [r, c] as const).filter(([, c]) => c !== 0);
  if (failed.length) {
    throw new ExperimentError(
      'jobs',
      `local rank(s) ${failed.map(([r, c]) => `${r} (exit ${c})`).join(', ')} failed; see ${join(outputDir, 'logs')}/local-<rank>.log`,
    );
  }
}
