// Test helpers: tiny tokenized datasets written straight as @loralab/data shards + manifest, and a tiny model config.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MANIFEST_FORMAT, MANIFEST_VERSION, ShardWriter } from '@loralab/data';
import { createRng } from '@loralab/model';

export const VOCAB = 64;

/** A Llama of ~30K parameters: hidden 32, 2 layers, vocab 64. */
export const TINY = {
  vocab_size: VOCAB,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  bos_token_id: 1,
  eos_token_id: 2,
  pad_token_id: 0,
};

export async function tmp(prefix = 'loralab-train-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Writes rows (and loss masks: an instruction set) as a one-shard tokenized dataset in `dir`. */
export async function writeDataset(dir: string, rows: number[][], masks?: number[][]): Promise<string> {
  const file = 'data-00000-of-00001.arrow';
  const w = new ShardWriter(join(dir, file), { tokenDtype: 'uint16', lossMask: masks !== undefined });
  for (const [i, r] of rows.entries()) w.addRow(r, masks?.[i]);
  const s = w.finish();
  const manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    kind: masks ? 'chat' : 'text',
    tokenizer: { sha256: 'test', vocabSize: VOCAB, bos: 1, eos: 2, pad: 0 },
    columns: masks ? { input_ids: 'uint16', loss_mask: 'uint8' } : { input_ids: 'uint16' },
    shards: [{ file, rows: s.rows, tokens: s.tokens, sha256: s.sha256, bytes: s.bytes }],
    totals: { shards: 1, rows: s.rows, tokens: s.tokens, bytes: s.bytes },
    source: { config: { kind: 'test' } },
    truncated: { dropped: 0, cut: 0 },
    config: {},
    configHash: 'test',
    worldSize: 1,
  };
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return dir;
}

/** Deterministic uniform [0, 1): the model package's seeded generator (mulberry32). */
export const rng = createRng;

/**
 * Documents of a counting task: BOS, then a run a, a+1, a+2, ... over ids 3..VOCAB-1 (wrapping), then EOS. Every
 * token after the first of a run is determined by the one before it: a model that learns it has a loss near 0 on
 * those tokens (the first of each run is a uniform guess among 61).
 */
export function countingDocs(n: number, seed: number, length = 24): number[][] {
  const r = rng(seed);
  const span = VOCAB - 3;
  return Array.from({ length: n }, () => {
    const a = Math.floor(r() * span);
    return [1, ...Array.from({ length }, (_, i) => 3 + ((a + i) % span)), 2];
  });
}

/**
 * An instruction set: prompt BOS x₁..x_k SEP (id 3) and response y_i = x_i + 1 (wrapping over 4..VOCAB-1),
 * then EOS; the loss mask is 1 on the response and EOS only.
 */
export function shiftTask(n: number, seed: number, k = 6): { rows: number[][]; masks: number[][] } {
  const r = rng(seed);
  const span = VOCAB - 4;
  const rows: number[][] = [];
  const masks: number[][] = [];
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: k }, () => Math.floor(r() * span));
    const prompt = [1, ...x.map((v) => 4 + v), 3];
    const response = [...x.map((v) => 4 + ((v + 1) % span)), 2];
    rows.push([...prompt, ...response]);
    masks.push([...prompt.map(() => 0), ...response.map(() => 1)]);
  }
  return { rows, masks };
}
