import { describe, expect, it } from 'vitest';
import { resolveRank, roundRobinCount } from './distributed.js';
import { ConfigError } from './errors.js';

describe('resolveRank', () => {
  it('prefers explicit values, then Slurm arrays, then Kubernetes indexed jobs', () => {
    const slurm = { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '8' };
    expect(resolveRank({ rank: 2, worldSize: 4 }, slurm)).toEqual({ rank: 2, worldSize: 4, from: 'config' });
    expect(resolveRank({}, slurm)).toEqual({ rank: 4, worldSize: 8, from: 'slurm' });
    expect(resolveRank({}, { JOB_COMPLETION_INDEX: '3', LORALAB_WORLD_SIZE: '4' })).toEqual({
      rank: 3,
      worldSize: 4,
      from: 'kubernetes',
    });
    expect(resolveRank({}, {})).toEqual({ rank: 0, worldSize: 1, from: 'default' });
  });

  it('reads LORALAB_RANK and LORALAB_WORLD_SIZE before the schedulers', () => {
    const both = {
      LORALAB_RANK: '2',
      LORALAB_WORLD_SIZE: '4',
      SLURM_ARRAY_TASK_ID: '0',
      SLURM_ARRAY_TASK_COUNT: '9',
    };
    expect(resolveRank({}, both)).toEqual({ rank: 2, worldSize: 4, from: 'env' });
    expect(() => resolveRank({}, { LORALAB_RANK: '1' })).toThrow(/LORALAB_WORLD_SIZE/);
    expect(() => resolveRank({}, { LORALAB_RANK: '4', LORALAB_WORLD_SIZE: '4' })).toThrow(/not below/);
  });

  it('rejects incomplete or inconsistent values', () => {
    expect(() => resolveRank({ rank: 1 }, {})).toThrow(ConfigError);
    expect(() => resolveRank({ rank: 4, worldSize: 4 }, {})).toThrow(/not below worldSize/);
    expect(() => resolveRank({}, { JOB_COMPLETION_INDEX: '1' })).toThrow(/LORALAB_WORLD_SIZE/);
    expect(() => resolveRank({}, { SLURM_ARRAY_TASK_ID: 'x', SLURM_ARRAY_TASK_COUNT: '2' })).toThrow(
      /SLURM_ARRAY_TASK_ID/,
    );
  });

  it('deals items round-robin, the first n mod worldSize ranks taking one more', () => {
    expect([0, 1, 2].map((r) => roundRobinCount(7, r, 3))).toEqual([3, 2, 2]);
    expect([0, 1, 2].map((r) => roundRobinCount(6, r, 3))).toEqual([2, 2, 2]);
  });
});
