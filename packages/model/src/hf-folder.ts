// Hugging Face model folders: `config.json` + `model.safetensors`, or shards listed in `model.safetensors.index.json`
// ({ metadata: { total_size }, weight_map: { key: file } }). Tensors are copied into the model one at a time, so a
// large checkpoint is never held twice in memory.
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  checksumOf,
  type FileChecksum,
  forgetChecksums,
  readVerifiedFile,
  recordChecksums,
} from './checksums.js';
import { readConfigJson, writeConfigJson } from './config.js';
import { CheckpointError } from './errors.js';
import { writeFileAtomic } from './fs-atomic.js';
import { LlamaForCausalLM } from './llama-model.js';
import {
  openSafetensors,
  type TensorToWrite,
  type VerifyOptions,
  type WeightDtype,
  writeSafetensors,
} from './safetensors.js';

/** Loading options; the `VerifyOptions` fields set how the files' checksums and values are checked. */
export interface LoadOptions extends VerifyOptions {
  /** Allow parameters absent from the checkpoint (they keep their initial values); default false: error. */
  allowMissing?: boolean;
  /** Seed of the initial values of parameters the checkpoint lacks (default 0). */
  seed?: number;
}

/** What loading found besides the parameters it set. */
export interface LoadReport {
  /** Model parameters the checkpoint did not hold. */
  missing: string[];
  /** Checkpoint tensors the model has no parameter for (a tied `lm_head.weight` is not reported). */
  unexpected: string[];
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The safetensors files of a model folder (`model.safetensors`, or the shards of `model.safetensors.index.json`)
 * and the keys the index assigns to each (empty for a single file: all of its keys).
 */
export async function checkpointFiles(dir: string): Promise<Map<string, string[]>> {
  const single = join(dir, 'model.safetensors');
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (await exists(indexPath)) {
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse((await readVerifiedFile(indexPath)).toString('utf8'));
    } catch (cause) {
      if (cause instanceof CheckpointError) throw cause;
      throw new CheckpointError(`${indexPath}: not valid JSON`, indexPath, undefined, { cause });
    }
    if (!index.weight_map || typeof index.weight_map !== 'object') {
      throw new CheckpointError(`${indexPath}: missing 'weight_map'`, indexPath);
    }
    const files = new Map<string, string[]>();
    for (const [key, file] of Object.entries(index.weight_map)) {
      const p = join(dir, file);
      files.set(p, [...(files.get(p) ?? []), key]);
    }
    return files;
  }
  if (await exists(single)) return new Map([[single, []]]);
  throw new CheckpointError(`${dir} holds neither model.safetensors nor model.safetensors.index.json`, dir);
}

/**
 * Copies the tensors of safetensors files into `model`'s parameters by name, checking shapes.
 * Returns the missing and unexpected keys; throws `CheckpointError` on a shape mismatch or, unless
 * `allowMissing`, on a missing parameter.
 */
export async function loadSafetensorsInto(
  model: LlamaForCausalLM,
  paths: string[],
  options: LoadOptions = {},
): Promise<LoadReport> {
  const params = model.parameters();
  const seen = new Set<string>();
  const unexpected: string[] = [];
  for (const path of paths) {
    const file = await openSafetensors(path, options);
    try {
      for (const [name, entry] of file.entries) {
        const p = params.get(name);
        if (!p) {
          if (!(name === 'lm_head.weight' && model.config.tie_word_embeddings)) unexpected.push(name);
          continue;
        }
        const want = p.variable.shape;
        if (entry.shape.length !== want.length || entry.shape.some((d, i) => d !== want[i])) {
          throw new CheckpointError(
            `${path}: tensor '${name}' has shape ${JSON.stringify(entry.shape)}, the model expects ${JSON.stringify(want)}`,
            path,
            name,
          );
        }
        const t = await file.read(name);
        const value = tf.tensor(t.data, want);
        p.variable.assign(value);
        value.dispose();
        seen.add(name);
      }
    } finally {
      await file.close();
    }
  }
  const missing = [...params.keys()].filter((k) => !seen.has(k));
  if (missing.length > 0 && !options.allowMissing) {
    throw new CheckpointError(
      `checkpoint lacks ${missing.length} parameter(s): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''} (pass allowMissing to keep their initial values)`,
      paths[0] ?? '',
      missing[0],
    );
  }
  return { missing, unexpected };
}

/** Builds a model from a Hugging Face folder (config.json + model.safetensors or a sharded index). */
export async function loadPretrained(
  dir: string,
  options: LoadOptions = {},
): Promise<{ model: LlamaForCausalLM; report: LoadReport }> {
  const config = await readConfigJson(join(dir, 'config.json'));
  const files = await checkpointFiles(dir);
  const model = new LlamaForCausalLM(config, { seed: options.seed ?? 0, empty: !options.allowMissing });
  try {
    const report = await loadSafetensorsInto(model, [...files.keys()], options);
    return { model, report };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

export interface SaveOptions {
  /** Storage dtype (default F32). */
  dtype?: WeightDtype;
  /** Split into shards of at most this many bytes with `model.safetensors.index.json` (default: one file). */
  maxShardBytes?: number;
  /** Extra `__metadata__` strings (`format: pt` is always written). */
  metadata?: Record<string, string>;
}

/** Reads every parameter of the model to host memory as float32, by Hugging Face key. */
export async function stateDict(model: LlamaForCausalLM): Promise<Map<string, TensorToWrite>> {
  const out = new Map<string, TensorToWrite>();
  for (const [name, p] of model.parameters()) {
    out.set(name, { shape: p.variable.shape, data: (await p.variable.data()) as Float32Array });
  }
  return out;
}

/** Writes `config.json` and the weights (one file or shards + index) into `dir`, each file atomically. */
export async function savePretrained(
  model: LlamaForCausalLM,
  dir: string,
  options: SaveOptions = {},
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const dtype = options.dtype ?? 'F32';
  const torchDtype = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[dtype];
  const metadata = { format: 'pt', ...options.metadata };
  const tensors = await stateDict(model);
  const bytesPer = dtype === 'F32' ? 4 : 2;
  const limit = options.maxShardBytes;
  // Files of an earlier save in this folder are replaced: drop their records first, so a crash in between leaves
  // unverified files rather than a record that no longer matches.
  await forgetChecksums(
    dir,
    (f) => f === 'config.json' || /^model(-\d+-of-\d+)?\.safetensors(\.index\.json)?$/.test(f),
  );
  const written: Record<string, FileChecksum> = {};
  if (!limit) {
    written['model.safetensors'] = await writeSafetensors(join(dir, 'model.safetensors'), tensors, metadata, {
      dtype,
    });
  } else {
    const shards: Map<string, TensorToWrite>[] = [new Map()];
    let size = 0;
    let total = 0;
    for (const [name, t] of tensors) {
      const n = t.data.length * bytesPer;
      if (size > 0 && size + n > limit) {
        shards.push(new Map());
        size = 0;
      }
      shards[shards.length - 1]!.set(name, t);
      size += n;
      total += n;
    }
    const width = 5;
    const weightMap: Record<string, string> = {};
    for (const [i, shard] of shards.entries()) {
      const file = `model-${String(i + 1).padStart(width, '0')}-of-${String(shards.length).padStart(width, '0')}.safetensors`;
      written[file] = await writeSafetensors(join(dir, file), shard, metadata, { dtype });
      for (const name of shard.keys()) weightMap[name] = file;
    }
    const index = `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`;
    await writeFileAtomic(join(dir, 'model.safetensors.index.json'), index);
    written['model.safetensors.index.json'] = checksumOf(index);
  }
  written['config.json'] = await writeConfigJson(join(dir, 'config.json'), model.config, torchDtype);
  await recordChecksums(dir, written); // last: a folder whose record lists a file was completely written
}
