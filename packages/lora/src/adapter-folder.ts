// PEFT adapter folders: `adapter_config.json` (every LoraConfig field, sorted, `inference_mode: true` as PEFT's
// `save_pretrained` writes it) and `adapter_model.safetensors` with PEFT's keys, the adapter name removed
// (peft/utils/save_and_load.py, `get_peft_model_state_dict`):
//   base_model.model.<module>.lora_A.weight         (r, in)
//   base_model.model.<module>.lora_B.weight         (out, r)
//   base_model.model.<module>.lora_magnitude_vector (out)        DoRA only
//   base_model.model.<module>.weight / .bias        modules_to_save copies
// Loading checks every tensor the config implies, by key and shape, and names what is missing or unexpected.
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CheckpointError,
  ConfigError,
  LlamaForCausalLM,
  openSafetensors,
  type Parameter,
  readSafetensors,
  type SafetensorsDtype,
  type TensorToWrite,
  writeFileAtomic,
  writeSafetensors,
} from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import {
  LORA_CONFIG_DEFAULTS,
  type LoraConfig,
  type ResolveOptions,
  resolveLoraConfig,
  toAdapterConfigJson,
} from './config.js';
import { MAGNITUDE } from './dora.js';
import { LoraModel } from './lora-model.js';
import { pissaConvertedConfig, pissaConvertedTensors } from './pissa-conversion.js';

export const ADAPTER_CONFIG_NAME = 'adapter_config.json';
export const ADAPTER_WEIGHTS_NAME = 'adapter_model.safetensors';

/** The saved key of an adapter parameter: PEFT's name without the adapter name (and without DoRA's `.weight`). */
function savedKey(p: Parameter, adapterName: string): string {
  for (const [suffix, replacement] of [
    [`.modules_to_save.${adapterName}.weight`, '.weight'],
    [`.modules_to_save.${adapterName}.bias`, '.bias'],
    [`.${MAGNITUDE}.${adapterName}.weight`, `.${MAGNITUDE}`],
    [`.${adapterName}.weight`, '.weight'],
  ] as const) {
    if (p.name.endsWith(suffix)) return p.name.slice(0, -suffix.length) + replacement;
  }
  throw new Error(`parameter ${p.name} does not belong to adapter '${adapterName}'`);
}

/** Adapter `adapterName`'s parameters by saved key (the live parameters; nothing is copied). */
export function adapterParametersByKey(
  lora: LoraModel,
  adapterName = lora.activeAdapter,
): Map<string, Parameter> {
  const out = new Map<string, Parameter>();
  for (const p of lora.adapterParameters(adapterName)) out.set(savedKey(p, adapterName), p);
  // `bias: "all" | "lora_only"`: the trained base biases, under their model key (PEFT: `base_model.model.<key>`).
  for (const p of lora.biasParameters(adapterName)) out.set(`base_model.model.${p.name}`, p);
  return out;
}

/** Adapter `adapterName`'s tensors by saved key, read to host memory (PEFT: `get_peft_model_state_dict`). */
export async function adapterStateDict(
  lora: LoraModel,
  adapterName = lora.activeAdapter,
): Promise<Map<string, TensorToWrite>> {
  const out = new Map<string, TensorToWrite>();
  for (const [key, p] of adapterParametersByKey(lora, adapterName)) {
    out.set(key, { shape: p.variable.shape, data: (await p.variable.data()) as Float32Array });
  }
  return out;
}

export interface SaveAdapterOptions {
  /** Which adapter (default: the active one). */
  adapterName?: string;
  /** Storage dtype of the tensors (default F32). */
  dtype?: SafetensorsDtype;
  /** Written as `base_model_name_or_path` (default: the adapter config's value). */
  baseModelNameOrPath?: string | null;
  /**
   * Leave out the fields newer than PEFT 0.13 (`NEWER_PEFT_FIELDS`) while they hold their defaults, for PEFT versions
   * that reject keys they do not know (default false: every field is written, as current PEFT does).
   */
  omitNewerDefaults?: boolean;
  /**
   * A folder holding this adapter as saved right after its PiSSA initialisation: the adapter is then written as a
   * plain LoRA adapter of rank 2r that applies to the original (not the residual) base weights (PEFT's
   * `path_initial_model_for_weight_conversion`).
   */
  pathInitialModelForWeightConversion?: string;
}

/** LoraConfig fields PEFT added after 0.13; old versions raise on them in `LoraConfig(**config)`. */
export const NEWER_PEFT_FIELDS = [
  'exclude_modules',
  'eva_config',
  'corda_config',
  'lora_bias',
  'trainable_token_indices',
  'target_parameters',
  'use_qalora',
  'qalora_group_size',
] as const;

/**
 * Writes adapter `adapterName` into `dir` as a PEFT adapter folder (each file atomically). The folder loads with
 * `PeftModel.from_pretrained(model, dir)` and with `loadAdapter`.
 */
export async function saveAdapter(
  lora: LoraModel,
  dir: string,
  options: SaveAdapterOptions = {},
): Promise<void> {
  const name = options.adapterName ?? lora.activeAdapter;
  const config = lora.peftConfig.get(name);
  if (!config) throw new ConfigError(`no adapter named '${name}'`, 'adapter_name', name);
  await mkdir(dir, { recursive: true });
  let tensors = await adapterStateDict(lora, name);
  let saved: LoraConfig = { ...config, inference_mode: true };
  const initialDir = options.pathInitialModelForWeightConversion;
  if (initialDir !== undefined) {
    const initialPath = join(initialDir, ADAPTER_WEIGHTS_NAME);
    const { tensors: initial } = await readSafetensors(initialPath);
    saved = pissaConvertedConfig(saved);
    tensors = pissaConvertedTensors(tensors, initial, initialPath);
  }
  await writeSafetensors(
    join(dir, ADAPTER_WEIGHTS_NAME),
    tensors,
    { format: 'pt' },
    { dtype: options.dtype ?? 'F32' },
  );
  if (options.baseModelNameOrPath !== undefined) saved.base_model_name_or_path = options.baseModelNameOrPath;
  const json = toAdapterConfigJson(saved);
  if (options.omitNewerDefaults) {
    for (const k of NEWER_PEFT_FIELDS) {
      if (JSON.stringify(json[k]) === JSON.stringify(LORA_CONFIG_DEFAULTS[k])) delete json[k];
    }
  }
  await writeFileAtomic(join(dir, ADAPTER_CONFIG_NAME), `${JSON.stringify(json, null, 2)}\n`);
}

/** Reads `adapter_config.json`: unknown keys warn and are dropped, invalid values throw `ConfigError`. */
export async function readAdapterConfig(
  dir: string,
  options: Omit<ResolveOptions, 'unknownKeys' | 'source'> = {},
): Promise<LoraConfig> {
  const path = join(dir, ADAPTER_CONFIG_NAME);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new CheckpointError(`cannot read ${path}: ${(cause as Error).message}`, path, undefined, { cause });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new CheckpointError(`${path}: not valid JSON (${(cause as Error).message})`, path, undefined, {
      cause,
    });
  }
  return resolveLoraConfig(raw as Record<string, unknown>, { ...options, unknownKeys: 'warn', source: path });
}

export interface LoadAdapterOptions {
  /** Name the adapter gets (default `default`; the name is not stored in the folder). */
  adapterName?: string;
  /** Train the loaded adapter (PEFT: `is_trainable`); default false: inference mode, parameters frozen. */
  isTrainable?: boolean;
  /** Make the loaded adapter the active one when added to an existing LoraModel (default true). */
  activate?: boolean;
  /** Receives warnings (unknown config keys); default `console.warn`. */
  onWarning?: (message: string) => void;
}

/**
 * Loads a PEFT adapter folder into `target` (a plain model: a new LoraModel is made; a LoraModel: the adapter is
 * added). Every tensor the config implies must be present with its shape; otherwise a `CheckpointError` names the
 * missing, unexpected or misshapen keys and the model is left as it was. The base weights are not changed (a PiSSA
 * adapter expects the residual base it was trained on).
 */
export async function loadAdapter(
  target: LlamaForCausalLM | LoraModel,
  dir: string,
  options: LoadAdapterOptions = {},
): Promise<LoraModel> {
  const name = options.adapterName ?? 'default';
  const config = await readAdapterConfig(dir, { onWarning: options.onWarning });
  config.inference_mode = !(options.isTrainable ?? false);
  const path = join(dir, ADAPTER_WEIGHTS_NAME);
  const file = await openSafetensors(path);
  // Values come from the file: inject with zero-cost init that leaves W alone (no PiSSA rewrite).
  const addOptions = { init: { kind: 'kaiming' } as const, resolve: { onWarning: () => {} } };
  const fresh = target instanceof LlamaForCausalLM;
  let lora: LoraModel | null = null;
  try {
    if (target instanceof LlamaForCausalLM) lora = new LoraModel(target, config, name, addOptions);
    else {
      lora = target;
      lora.addAdapter(name, config, addOptions);
    }
    const expected = adapterParametersByKey(lora, name);
    const missing = [...expected.keys()].filter((k) => !file.entries.has(k));
    const unexpected = [...file.entries.keys()].filter((k) => !expected.has(k));
    const misshapen: string[] = [];
    for (const [key, p] of expected) {
      const e = file.entries.get(key);
      if (
        e &&
        (e.shape.length !== p.variable.shape.length || e.shape.some((d, i) => d !== p.variable.shape[i]))
      ) {
        misshapen.push(
          `${key}: file ${JSON.stringify(e.shape)}, expected ${JSON.stringify(p.variable.shape)}`,
        );
      }
    }
    if (missing.length + unexpected.length + misshapen.length > 0) {
      const parts = [
        missing.length ? `missing ${missing.length} key(s): ${missing.join(', ')}` : '',
        unexpected.length ? `unexpected ${unexpected.length} key(s): ${unexpected.join(', ')}` : '',
        misshapen.length ? `wrong shape: ${misshapen.join('; ')}` : '',
      ].filter(Boolean);
      throw new CheckpointError(
        `${path} does not match ${join(dir, ADAPTER_CONFIG_NAME)} (target_modules ${JSON.stringify(config.target_modules)}): ${parts.join('; ')}`,
        path,
        missing[0] ?? unexpected[0] ?? misshapen[0],
      );
    }
    for (const [key, p] of expected) {
      const t = await file.read(key);
      const value = tf.tensor(t.data, p.variable.shape);
      p.variable.assign(value);
      value.dispose();
    }
    if (options.activate ?? true) lora.setAdapter(name);
    return lora;
  } catch (e) {
    if (lora) {
      if (fresh) lora.unload();
      else if (lora.peftConfig.has(name)) lora.deleteAdapter(name);
    }
    throw e;
  } finally {
    await file.close();
  }
}

/**
 * Saves several adapters as PEFT's `save_pretrained` lays them out: `default` in `dir`, every other adapter in
 * `dir/<name>` (default: all adapters). Returns the folder of each adapter.
 */
export async function saveAdapters(
  lora: LoraModel,
  dir: string,
  options: Omit<SaveAdapterOptions, 'adapterName' | 'pathInitialModelForWeightConversion'> & {
    selectedAdapters?: readonly string[];
  } = {},
): Promise<Map<string, string>> {
  const { selectedAdapters, ...rest } = options;
  const out = new Map<string, string>();
  for (const name of selectedAdapters ?? lora.adapterNames()) {
    const folder = name === 'default' ? dir : join(dir, name);
    await saveAdapter(lora, folder, { ...rest, adapterName: name });
    out.set(name, folder);
  }
  return out;
}

/**
 * Loads what `saveAdapters` (or PEFT's `save_pretrained`) wrote: `default` from `dir` when it holds an adapter, and
 * each subfolder holding `adapter_config.json` under the subfolder's name. The first loaded adapter is active.
 */
export async function loadAdapters(
  model: LlamaForCausalLM,
  dir: string,
  options: Omit<LoadAdapterOptions, 'adapterName' | 'activate'> = {},
): Promise<LoraModel> {
  const folders: [string, string][] = [];
  if (await isFile(join(dir, ADAPTER_CONFIG_NAME))) folders.push(['default', dir]);
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  )) {
    if (entry.isDirectory() && (await isFile(join(dir, entry.name, ADAPTER_CONFIG_NAME)))) {
      folders.push([entry.name, join(dir, entry.name)]);
    }
  }
  if (folders.length === 0)
    throw new CheckpointError(`${dir} holds no ${ADAPTER_CONFIG_NAME}, directly or in a subfolder`, dir);
  let lora: LoraModel | null = null;
  try {
    for (const [name, folder] of folders) {
      lora = await loadAdapter(lora ?? model, folder, {
        ...options,
        adapterName: name,
        activate: lora === null,
      });
    }
  } catch (e) {
    (lora as LoraModel | null)?.unload();
    throw e;
  }
  return lora as LoraModel;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
