// Decoded examples with trained and masked spans marked: the quickest way to see a loss-masking bug.

import { join } from 'node:path';
import type { Tokenizer } from '@loralab/tokenizer';
import { IGNORE_INDEX } from './data-loader.js';
import { DataError } from './errors.js';
import { readManifest } from './manifest.js';
import { readShard } from './shard-file.js';

export interface FormatExampleOptions {
  /** Markers around trained spans. Default `⟦` and `⟧`. */
  open?: string;
  close?: string;
  /** Use ANSI colors instead (trained green, masked dim). Default false. */
  color?: boolean;
}

/**
 * Decodes `ids` and marks the spans where `trained[i]` is nonzero, after a header line with the counts:
 * `41 tokens, 12 trained (29.3%), trained spans in ⟦ ⟧`.
 */
export async function formatMaskedExample(
  tokenizer: Tokenizer,
  ids: ArrayLike<number>,
  trained: ArrayLike<number>,
  options: FormatExampleOptions = {},
): Promise<string> {
  const open = options.color ? '\x1b[32m' : (options.open ?? '⟦');
  const close = options.color ? '\x1b[0m' : (options.close ?? '⟧');
  const n = ids.length;
  let nTrained = 0;
  let out = '';
  for (let i = 0; i < n; ) {
    const on = trained[i] !== 0;
    let j = i;
    while (j < n && (trained[j] !== 0) === on) j++;
    const text = await tokenizer.decode(Array.from({ length: j - i }, (_, k) => ids[i + k]!));
    if (on) {
      out += `${open}${text}${close}`;
      nTrained += j - i;
    } else out += options.color ? `\x1b[2m${text}\x1b[0m` : text;
    i = j;
  }
  const pct = n ? ((100 * nTrained) / n).toFixed(1) : '0.0';
  const legend = options.color ? 'trained spans in green' : `trained spans in ${open} ${close}`;
  return `${n} tokens, ${nTrained} trained (${pct}%), ${legend}\n${out}`;
}

/** One sample of a batch as above: token t is trained when the label of position t - 1 is not IGNORE_INDEX. */
export function formatBatchExample(
  tokenizer: Tokenizer,
  batch: { inputIds: Int32Array; labels: Int32Array; attentionMask: Uint8Array; seqLen: number },
  sample = 0,
  options: FormatExampleOptions = {},
): Promise<string> {
  const T = batch.seqLen;
  const o = sample * T;
  let n = T;
  while (n > 0 && batch.attentionMask[o + n - 1] === 0) n--;
  const ids = Array.from(batch.inputIds.subarray(o, o + n));
  const trained = ids.map((_, t) => (t > 0 && batch.labels[o + t - 1] !== IGNORE_INDEX ? 1 : 0));
  return formatMaskedExample(tokenizer, ids, trained, options);
}

/** Row `row` of a tokenized dataset, decoded with its loss mask marked (all trained for text datasets). */
export async function formatDatasetExample(
  dir: string,
  tokenizer: Tokenizer,
  row = 0,
  options: FormatExampleOptions = {},
): Promise<string> {
  const m = await readManifest(dir);
  let r = row;
  for (const s of m.shards) {
    if (r < s.rows) {
      const d = await readShard(join(dir, s.file), s);
      const [a, b] = [d.offsets[r]!, d.offsets[r + 1]!];
      const ids = d.values.subarray(a, b);
      return formatMaskedExample(
        tokenizer,
        ids,
        d.mask ? d.mask.subarray(a, b) : new Uint8Array(b - a).fill(1),
        options,
      );
    }
    r -= s.rows;
  }
  throw new DataError(`row ${row} is past the end of the dataset (${m.totals.rows} rows)`, { file: dir });
}
