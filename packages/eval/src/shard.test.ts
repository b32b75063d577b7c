import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, DataError } from './errors.js';
import { evaluateFunctionalCorrectness } from './evaluate-code.js';
import {
  evaluateFunctionalCorrectnessShard,
  mergeFunctionalCorrectness,
  partFile,
  shardFromEnv,
} from './shard.js';

const dir = mkdtempSync(join(tmpdir(), 'loralab-eval-shard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const problems = ['inc', 'dbl'].map((name, i) => ({
  task_id: `T/${i}`,
  prompt: `def ${name}(x):\n`,
  canonical_solution: i === 0 ? '    return x + 1\n' : '    return 2 * x\n',
  test: `def check(f):\n    assert f(3) == ${i === 0 ? 4 : 6}\n`,
  entry_point: name,
}));
const completions = [
  '    return x + 1\n',
  '    return x\n',
  '    return 2 * x\n',
  '    return x + x\n',
  '    return 0\n',
];
const samples = [0, 1, 0, 1, 1, 0, 1].map((p, i) => ({ task_id: `T/${p}`, completion: completions[i % 5]! }));

describe('sharded code evaluation', () => {
  it('merges the parts of every rank into the results file an unsplit run writes', async () => {
    const problemFile = join(dir, 'problems.jsonl');
    writeFileSync(problemFile, problems.map((p) => JSON.stringify(p)).join('\n'));
    const sampleFile = join(dir, 'samples.jsonl');
    writeFileSync(sampleFile, samples.map((s) => JSON.stringify(s)).join('\n'));

    const whole = await evaluateFunctionalCorrectness(sampleFile, problemFile);
    const wholeText = readFileSync(whole.resultsFile, 'utf8');
    rmSync(whole.resultsFile);

    const parts = await Promise.all(
      [2, 0, 1].map((rank) =>
        evaluateFunctionalCorrectnessShard(sampleFile, problemFile, { rank, worldSize: 3 }),
      ),
    );
    expect(parts[0]!.rows.map((r) => r.sample_index)).toEqual([2, 5]);
    const merged = mergeFunctionalCorrectness(sampleFile, problemFile, 3);
    expect(readFileSync(merged.resultsFile, 'utf8')).toBe(wholeText);
    expect(merged.passAtK).toEqual(whole.passAtK);

    rmSync(`${partFile(sampleFile, { rank: 1, worldSize: 3 })}.done`);
    expect(() => mergeFunctionalCorrectness(sampleFile, problemFile, 3)).toThrow(
      /rank 1 of 3 has not finished/,
    );
    writeFileSync(
      sampleFile,
      samples.map((s, i) => JSON.stringify(i === 2 ? { ...s, completion: 'x' } : s)).join('\n'),
    );
    await evaluateFunctionalCorrectnessShard(sampleFile, problemFile, { rank: 1, worldSize: 3 });
    expect(() => mergeFunctionalCorrectness(sampleFile, problemFile, 3)).toThrow(DataError);
  }, 60_000);
});

describe('shardFromEnv', () => {
  it('reads loralab, Slurm array and Kubernetes indexed-job variables', () => {
    expect(shardFromEnv({})).toEqual({ rank: 0, worldSize: 1 });
    expect(shardFromEnv({ LORALAB_RANK: '2', LORALAB_WORLD_SIZE: '4' })).toEqual({ rank: 2, worldSize: 4 });
    expect(
      shardFromEnv({ SLURM_ARRAY_TASK_ID: '11', SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_COUNT: '3' }),
    ).toEqual({ rank: 1, worldSize: 3 });
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '1', LORALAB_WORLD_SIZE: '2' })).toEqual({
      rank: 1,
      worldSize: 2,
    });
    expect(() => shardFromEnv({ LORALAB_RANK: '4', LORALAB_WORLD_SIZE: '4' })).toThrow(ConfigError);
    expect(() => shardFromEnv({ LORALAB_RANK: 'x' })).toThrow(/LORALAB_RANK/);
  });
});
