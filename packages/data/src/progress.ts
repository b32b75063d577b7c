// The files of a dataset being written: per-rank progress files and completion markers, part and shard names.
import type { ShardSummary } from './shard-file.js';
import { emptyStats, type SourceStats } from './sources.js';

/** A rank's progress: the parts it has finished and the source position and counts after the last one. */
export interface Progress {
  configHash: string;
  parts: Array<ShardSummary & { position: number }>;
  /** Items of the rank's source stream consumed by the recorded parts. */
  position: number;
  stats: SourceStats;
  truncated: { dropped: number; cut: number };
}

export function emptyProgress(configHash: string): Progress {
  return { configHash, parts: [], position: 0, stats: emptyStats(), truncated: { dropped: 0, cut: 0 } };
}

/** Folder of progress files (`rank-R-of-N.json`), metadata (`.meta.json`) and completion markers (`.done`). */
export const PROGRESS_DIR = '.loralab-progress';
const pad5 = (n: number) => String(n).padStart(5, '0');
export const rankTag = (rank: number, worldSize: number) => `rank-${pad5(rank)}-of-${pad5(worldSize)}`;
/** A finished shard of rank `rank` before the dataset is complete. */
export const partName = (rank: number, i: number) => `part-${pad5(rank)}-${pad5(i)}.arrow`;
/** The `save_to_disk` name of shard `i` of `n`. */
export const dataName = (i: number, n: number) => `data-${pad5(i)}-of-${pad5(n)}.arrow`;
