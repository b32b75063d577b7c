// The manifest of a tokenized dataset (`manifest.json`) next to the Hugging Face `save_to_disk` files
// (`state.json`, `dataset_info.json`); reading and checking it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from './errors.js';
import type { ShardExpectation, TokenDtype } from './shard-file.js';
import type { SourceStats } from './sources.js';

export const MANIFEST_FORMAT = 'loralab.tokenized-dataset';
export const MANIFEST_VERSION = 1;

/** The tokenizer a dataset was written with. `sha256` is the hash of its `tokenizer.json` text. */
export interface TokenizerIdentity {
  sha256: string;
  vocabSize: number;
  bos: number | null;
  eos: number | null;
  pad: number | null;
}

export interface ManifestShard extends ShardExpectation {
  bytes: number;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  /** `text`: documents for continued pretraining; `chat`: conversations with a `loss_mask` column. */
  kind: 'text' | 'chat';
  tokenizer: TokenizerIdentity;
  columns: { input_ids: TokenDtype; loss_mask?: 'uint8' };
  shards: ManifestShard[];
  totals: { shards: number; rows: number; tokens: number; bytes: number };
  /** The source config and what reading it found. */
  source: { config: unknown } & SourceStats;
  /** Conversations dropped or cut by the truncation rule (chat). */
  truncated: { dropped: number; cut: number };
  /** The write config that produced the dataset (without the output folder and rank). */
  config: Record<string, unknown>;
  /** sha256 of the tokenizer identity and `config`: a rerun with another config is refused. */
  configHash: string;
  worldSize: number;
}

/** Reads and checks `manifest.json` of a tokenized dataset folder. */
export async function readManifest(dir: string): Promise<Manifest> {
  const file = join(dir, 'manifest.json');
  let m: Manifest;
  try {
    m = JSON.parse(await readFile(file, 'utf8')) as Manifest;
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new DataError(
      missing
        ? 'no manifest.json: not a loralab tokenized dataset, or its writing has not finished'
        : 'manifest.json is not valid JSON',
      { file, cause },
    );
  }
  if (m?.format !== MANIFEST_FORMAT)
    throw new DataError(`expected "format": "${MANIFEST_FORMAT}", found ${JSON.stringify(m?.format)}`, {
      file,
    });
  if (m.version !== MANIFEST_VERSION) {
    throw new DataError(
      `manifest version ${m.version} is not supported (this package reads version ${MANIFEST_VERSION})`,
      { file },
    );
  }
  if (!Array.isArray(m.shards)) throw new DataError('expected "shards": [...]', { file });
  return m;
}
