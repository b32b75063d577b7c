// PEFT adapter folders: `adapter_config.json` (every LoraConfig field, sorted, `inference_mode: true` as PEFT's
// `save_pretrained` writes it) and `adapter_model.safetensors` with PEFT's keys, the adapter name removed
// (peft/utils/save_and_load.py, `get_peft_model_state_dict`):
//   base_model.model.<module>.lora_A.weight         (r, in)
//   base_model.model.<module>.lora_B.weight         (out, r)
//   base_model.model.<module>.lora_magnitude_vector (out)        DoRA only
//   base_model.model.<module>.weight / .bias        modules_to_save copies
// Loading follows PEFT's `set_peft_model_state_dict` + `load_state_dict(strict=False)`: missing and unexpected keys
// are warned about by name (`strict` makes them errors), a wrong shape is an error. Both files are recorded in the
// folder's `checksums.json` and verified on load (see @loralab/model).
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CheckpointError,
  ConfigError,
  checksumOf,
  forgetChecksums,
  LlamaForCausalLM,
  openSafetensors,
  type Parameter,
  readSafetensors,
  readVerifiedFile,
  recordChecksums,
  type TensorToWrite,
  type VerifyOptions,
  type WeightDtype,
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
  dtype?: WeightDtype;
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
  await forgetChecksums(dir, (f) => f === ADAPTER_WEIGHTS_NAME || f === ADAPTER_CONFIG_NAME);
  let tensors = await adapterStateDict(lora, name);
  let saved: LoraConfig = { ...config, inference_mode: true };
  const initialDir = options.pathInitialModelForWeightConversion;
  if (initialDir !== undefined) {
    const initialPath = join(initialDir, ADAPTER_WEIGHTS_NAME);
    const { tensors: initial } = await readSafetensors(initialPath);
    saved = pissaConvertedConfig(saved);
    tensors = pissaConvertedTensors(tensors, initial, initialPath);
  }
  const weights = await writeSafetensors(
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
  const text = `${JSON.stringify(json, null, 2)}\n`;
  await writeFileAtomic(join(dir, ADAPTER_CONFIG_NAME), text);
  await recordChecksums(dir, { [ADAPTER_WEIGHTS_NAME]: weights, [ADAPTER_CONFIG_NAME]: checksumOf(text) });
}

/** Reads `adapter_config.json`: unknown keys warn and are dropped, invalid values throw `ConfigError`. */
export async function readAdapterConfig(
  dir: string,
  options: Omit<ResolveOptions, 'unknownKeys' | 'source'> = {},
): Promise<LoraConfig> {
  const path = join(dir, ADAPTER_CONFIG_NAME);
  let text: string;
  try {
    text = (await readVerifiedFile(path)).toString('utf8');
  } catch (cause) {
    if (cause instanceof CheckpointError) throw cause;
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

export interface LoadAdapterOptions extends VerifyOptions {
  /** Name the adapter gets (default `default`; the name is not stored in the folder). */
  adapterName?: string;
  /** Train the loaded adapter (PEFT: `is_trainable`); default false: inference mode, parameters frozen. */
  isTrainable?: boolean;
  /** Make the loaded adapter the active one when added to an existing LoraModel (default true). */
  activate?: boolean;
  /**
   * Refuse a file whose keys differ from what the config implies (default false: as PEFT, missing keys keep their
   * initial values and unexpected keys are ignored, each with a warning that names them).
   */
  strict?: boolean;
  /** Receives warnings (unknown config keys, missing and unexpected tensors); default `console.warn`. */
  onWarning?: (message: string) => void;
  /** Receives the keys the file lacks and the keys it holds beyond the config (PEFT's `_IncompatibleKeys`). */
  onIncompatibleKeys?: (keys: { missing: string[]; unexpected: string[] }) => void;
}

/** `base_model.model.<module>.lora_A.weight` → `<module>` (the module a saved key belongs to). */
function moduleOf(key: string): string {
  const m = /^base_model\.model\.(.+?)\.(lora_A|lora_B|lora_magnitude_vector|weight|bias)(\.weight)?$/.exec(
    key,
  );
  return m ? m[1]! : key;
}

/** Module name → the parts of it listed in `keys` (`lora_A`, `lora_B`, ...), for messages. */
function byModule(keys: string[]): string {
  const parts = new Map<string, string[]>();
  for (const k of keys) {
    const mod = moduleOf(k);
    parts.set(mod, [
      ...(parts.get(mod) ?? []),
      k.slice(`base_model.model.${mod}.`.length).replace(/\.weight$/, ''),
    ]);
  }
  return [...parts].map(([m, p]) => `${m} (${p.join(', ')})`).join(', ');
}

/** A misshapen embedding or lm_head copy whose row count differs: the adapter was trained with added tokens. */
function addedTokensMessage(key: string, file: number[], want: readonly number[]): string | null {
  if (!/(embed_tokens|lm_head)\.weight$/.test(key) || file.length !== 2 || file[1] !== want[1]) return null;
  return `${key} has ${file[0]} rows where the model's vocabulary has ${want[0]}: the adapter was trained after ${file[0]! > want[0]! ? `adding ${file[0]! - want[0]!} token(s)` : 'shrinking the vocabulary'} (PEFT: resize_token_embeddings + modules_to_save). loralab does not resize a model's vocabulary: load it onto a base folder whose config.json has vocab_size ${file[0]} (the resized base the adapter was trained on)`;
}

/**
 * Loads a PEFT adapter folder into `target` (a plain model: a new LoraModel is made; a LoraModel: the adapter is
 * added). As PEFT, tensors the config implies but the file lacks keep their initial values (lora_B = 0: the module
 * is unchanged) and tensors the config does not imply are ignored, each named in a warning; `strict` makes both an
 * error. A wrong shape, a file that matches none of the expected keys, or a checksum mismatch is a
 * `CheckpointError`, and the model is left as it was. The base weights are not changed (a PiSSA adapter expects the
 * residual base it was trained on).
 */
export async function loadAdapter(
  target: LlamaForCausalLM | LoraModel,
  dir: string,
  options: LoadAdapterOptions = {},
): Promise<LoraModel> {
  const name = options.adapterName ?? 'default';
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  const config = await readAdapterConfig(dir, { onWarning: options.onWarning });
  config.inference_mode = !(options.isTrainable ?? false);
  const path = join(dir, ADAPTER_WEIGHTS_NAME);
  const file = await openSafetensors(path, options);
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
      const want = p.variable.shape;
      if (e && (e.shape.length !== want.length || e.shape.some((d, i) => d !== want[i]))) {
        misshapen.push(
          addedTokensMessage(key, e.shape, want) ??
            `${key}: file ${JSON.stringify(e.shape)}, expected ${JSON.stringify(want)}`,
        );
      }
    }
    const where = `${path} (against ${join(dir, ADAPTER_CONFIG_NAME)}, target_modules ${JSON.stringify(config.target_modules)})`;
    const nothing = missing.length === expected.size;
    if (misshapen.length > 0 || nothing || (options.strict && missing.length + unexpected.length > 0)) {
      const parts = [
        nothing ? `none of the ${expected.size} expected keys is present (a different key layout?)` : '',
        missing.length && !nothing ? `missing ${missing.length} key(s): ${missing.join(', ')}` : '',
        unexpected.length ? `unexpected ${unexpected.length} key(s): ${unexpected.join(', ')}` : '',
        misshapen.length ? `wrong shape: ${misshapen.join('; ')}` : '',
      ].filter(Boolean);
      throw new CheckpointError(
        `${where}: ${parts.join('; ')}`,
        path,
        missing[0] ?? unexpected[0] ?? misshapen[0],
      );
    }
    options.onIncompatibleKeys?.({ missing, unexpected });
    if (missing.length > 0)
      warn(
        `${where}: found missing adapter keys while loading the checkpoint; these keep their initial values (a missing lora_B is zero: that module is unchanged): ${byModule(missing)} (pass strict: true to refuse such a file)`,
      );
    if (unexpected.length > 0)
      warn(
        `${where}: found unexpected keys, ignored: ${unexpected.join(', ')} (pass strict: true to refuse such a file)`,
      );
    for (const [key, p] of expected) {
      if (!file.entries.has(key)) continue;
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
