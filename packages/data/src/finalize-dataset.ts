// Completes a dataset written by one or more ranks: renames the parts to the `save_to_disk` names and writes
// `state.json`, `dataset_info.json` and, last, `manifest.json`.
import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from './atomic-file.js';
import { DataError } from './errors.js';
import {
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestShard,
  readManifest,
  type TokenizerIdentity,
} from './manifest.js';
import { dataName, PROGRESS_DIR, type Progress, partName, rankTag } from './progress.js';
import { hfFeatures, type ShardColumns, ShardWriter } from './shard-file.js';
import { emptyStats } from './sources.js';

/**
 * Finishes a dataset once every rank's completion marker is present: renames the parts to the `save_to_disk`
 * names, writes `state.json` and `dataset_info.json`, then `manifest.json`. Idempotent, so a crash in the middle
 * is repaired by running it again. Returns null while some rank has not finished.
 */
export async function finalizeDataset(outDir: string): Promise<Manifest | null> {
  if (existsSync(join(outDir, 'manifest.json'))) return readManifest(outDir);
  const progressDir = join(outDir, PROGRESS_DIR);
  const names = existsSync(progressDir) ? readdirSync(progressDir) : [];
  const tags = names.filter((n) => /^rank-\d{5}-of-\d{5}\.json$/.test(n)).sort();
  if (tags.length === 0) return null;
  const worldSize = Number(/of-(\d{5})/.exec(tags[0]!)![1]);
  for (let r = 0; r < worldSize; r++) if (!names.includes(`${rankTag(r, worldSize)}.done`)) return null;
  const progresses = Array.from(
    { length: worldSize },
    (_, r) =>
      JSON.parse(readFileSync(join(progressDir, `${rankTag(r, worldSize)}.json`), 'utf8')) as Progress,
  );
  const hashes = new Set(progresses.map((p) => p.configHash));
  if (hashes.size !== 1)
    throw new DataError('ranks wrote with different tokenizers or configs; rewrite the dataset', {
      file: progressDir,
    });
  const meta = JSON.parse(readFileSync(join(progressDir, `${rankTag(0, worldSize)}.meta.json`), 'utf8')) as {
    kind: 'text' | 'chat';
    tokenizer: TokenizerIdentity;
    columns: ShardColumns;
    config: Record<string, unknown>;
  };
  const parts = progresses.flatMap((p) => p.parts);
  if (parts.length === 0) {
    // An empty dataset still has one (empty) data file, as `datasets` writes it.
    const empty = new ShardWriter(join(outDir, partName(0, 0)), meta.columns);
    parts.push({ ...empty.finish(), position: 0 });
  }
  const n = parts.length;
  const shards: ManifestShard[] = parts.map((p, i) => ({
    file: dataName(i, n),
    rows: p.rows,
    tokens: p.tokens,
    bytes: p.bytes,
    sha256: p.sha256,
  }));
  for (const [i, p] of parts.entries()) {
    const from = join(outDir, p.file);
    const to = join(outDir, shards[i]!.file);
    if (existsSync(from)) renameSync(from, to);
    else if (!existsSync(to))
      throw new DataError(`shard ${p.file} is missing (neither it nor ${shards[i]!.file} exists)`, {
        file: from,
      });
  }
  const stats = progresses.reduce(
    (s, p) => ({
      records: s.records + p.stats.records,
      skipped: s.skipped + p.stats.skipped,
      skippedExamples: [...s.skippedExamples, ...p.stats.skippedExamples].slice(0, 10),
    }),
    emptyStats(),
  );
  const fingerprint = progresses[0]!.configHash.slice(0, 16);
  writeJsonAtomic(join(outDir, 'state.json'), {
    _data_files: shards.map((s) => ({ filename: s.file })),
    _fingerprint: fingerprint,
    _format_columns: null,
    _format_kwargs: {},
    _format_type: null,
    _output_all_columns: false,
    _split: null,
  });
  writeJsonAtomic(join(outDir, 'dataset_info.json'), {
    builder_name: null,
    citation: '',
    config_name: null,
    dataset_name: null,
    description: `loralab tokenized dataset (${meta.kind}); see manifest.json`,
    features: hfFeatures(meta.columns),
    homepage: '',
    license: '',
    splits: {
      train: {
        name: 'train',
        num_bytes: shards.reduce((s, x) => s + x.bytes, 0),
        num_examples: shards.reduce((s, x) => s + x.rows, 0),
      },
    },
  });
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    kind: meta.kind,
    tokenizer: meta.tokenizer,
    columns: {
      input_ids: meta.columns.tokenDtype,
      ...(meta.columns.lossMask ? { loss_mask: 'uint8' as const } : {}),
    },
    shards,
    totals: {
      shards: n,
      rows: shards.reduce((s, x) => s + x.rows, 0),
      tokens: shards.reduce((s, x) => s + x.tokens, 0),
      bytes: shards.reduce((s, x) => s + x.bytes, 0),
    },
    source: { config: meta.config.source, ...stats },
    truncated: progresses.reduce(
      (t, p) => ({ dropped: t.dropped + p.truncated.dropped, cut: t.cut + p.truncated.cut }),
      { dropped: 0, cut: 0 },
    ),
    config: meta.config,
    configHash: progresses[0]!.configHash,
    worldSize,
  };
  writeJsonAtomic(join(outDir, 'manifest.json'), manifest);
  return manifest;
}
