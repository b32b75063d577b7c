// Which part of the work this process does: `rank` of `worldSize`, given explicitly or read from a
// scheduler (Slurm job arrays, Kubernetes indexed jobs).
import { ConfigError } from './errors.js';

export interface RankInfo {
  rank: number;
  worldSize: number;
  /** Where the values came from. */
  from: 'config' | 'env' | 'slurm' | 'kubernetes' | 'default';
}

/**
 * The one rank/world-size resolution of loralab (data prepare, data loading, sharded evaluation and the
 * experiment's job layer all call it). First match wins:
 * 1. explicit values (both, or neither);
 * 2. `LORALAB_RANK` with `LORALAB_WORLD_SIZE` (a local simulation, or any launcher);
 * 3. Slurm job arrays: `SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN` (default 0) of `SLURM_ARRAY_TASK_COUNT`;
 * 4. Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX`, with the world size from `LORALAB_WORLD_SIZE` (Kubernetes
 *    does not export the completion count);
 * 5. rank 0 of 1.
 */
export function resolveRank(
  explicit: { rank?: number | null; worldSize?: number | null } = {},
  env: Record<string, string | undefined> = process.env,
): RankInfo {
  const int = (key: string, v: string | number | undefined | null): number | undefined => {
    if (v === undefined || v === null || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new ConfigError(key, `expected a non-negative integer, found ${JSON.stringify(v)}`);
    return n;
  };
  const check = (info: RankInfo): RankInfo => {
    if (info.worldSize < 1) throw new ConfigError('worldSize', `must be at least 1, found ${info.worldSize}`);
    if (info.rank >= info.worldSize)
      throw new ConfigError('rank', `rank ${info.rank} is not below worldSize ${info.worldSize}`);
    return info;
  };
  const rank = int('rank', explicit.rank);
  const worldSize = int('worldSize', explicit.worldSize);
  if (rank !== undefined || worldSize !== undefined) {
    if (rank === undefined || worldSize === undefined) {
      throw new ConfigError(
        rank === undefined ? 'rank' : 'worldSize',
        'set both rank and worldSize, or neither',
      );
    }
    return check({ rank, worldSize, from: 'config' });
  }
  const envRank = int('LORALAB_RANK', env.LORALAB_RANK);
  if (envRank !== undefined) {
    const size = int('LORALAB_WORLD_SIZE', env.LORALAB_WORLD_SIZE);
    if (size === undefined)
      throw new ConfigError('LORALAB_WORLD_SIZE', 'LORALAB_RANK is set: also set LORALAB_WORLD_SIZE');
    return check({ rank: envRank, worldSize: size, from: 'env' });
  }
  const slurmId = int('SLURM_ARRAY_TASK_ID', env.SLURM_ARRAY_TASK_ID);
  if (slurmId !== undefined) {
    const count = int('SLURM_ARRAY_TASK_COUNT', env.SLURM_ARRAY_TASK_COUNT);
    if (count === undefined)
      throw new ConfigError('SLURM_ARRAY_TASK_COUNT', 'is not set next to SLURM_ARRAY_TASK_ID');
    const min = int('SLURM_ARRAY_TASK_MIN', env.SLURM_ARRAY_TASK_MIN) ?? 0;
    return check({ rank: slurmId - min, worldSize: count, from: 'slurm' });
  }
  const k8s = int('JOB_COMPLETION_INDEX', env.JOB_COMPLETION_INDEX);
  if (k8s !== undefined) {
    const size = int('LORALAB_WORLD_SIZE', env.LORALAB_WORLD_SIZE);
    if (size === undefined) {
      throw new ConfigError(
        'LORALAB_WORLD_SIZE',
        'JOB_COMPLETION_INDEX is set: also set LORALAB_WORLD_SIZE to the number of completions',
      );
    }
    return check({ rank: k8s, worldSize: size, from: 'kubernetes' });
  }
  return { rank: 0, worldSize: 1, from: 'default' };
}

/**
 * The items of `n` that `rank` takes when items are dealt round-robin: `i % worldSize === rank`.
 * When `n` does not divide, the first `n % worldSize` ranks take one more.
 */
export function roundRobinCount(n: number, rank: number, worldSize: number): number {
  return Math.floor(n / worldSize) + (rank < n % worldSize ? 1 : 0);
}
