// LoraConfig: the fields of Hugging Face PEFT's `LoraConfig` (peft/tuners/lora/config.py) and of its base
// `PeftConfig`, under PEFT's names and with PEFT's defaults, so an `adapter_config.json` moves between loralab and
// the Python ecosystem unchanged. Defaults live in `LORA_CONFIG_DEFAULTS`; `resolveLoraConfig` checks every rule once.
import { ConfigError } from '@loralab/model';

/** PEFT's `init_lora_weights` values that loralab implements. */
export type InitLoraWeights = boolean | 'gaussian' | 'pissa' | `pissa_niter_${number}`;

/** The initialisation `init_lora_weights` names, as a discriminated union (see `parseInitLoraWeights`). */
export type LoraInit =
  /** `true`: A Kaiming-uniform (a = √5, i.e. U(±1/√in)), B zero: the adapter starts as the identity. */
  | { kind: 'kaiming' }
  /** `"gaussian"`: A ~ N(0, 1/r²), B zero. */
  | { kind: 'gaussian' }
  /** `false`: A and B both Kaiming-uniform (nn.Linear's default init): the adapter is not the identity. */
  | { kind: 'random' }
  /** `"pissa"` (exact SVD) or `"pissa_niter_K"` (randomized SVD with K subspace iterations). */
  | { kind: 'pissa'; niter: number | null };

export interface LoraConfig {
  /** Always `"LORA"`. */
  peft_type: 'LORA';
  /** Always `"CAUSAL_LM"` (null is accepted on load, as PEFT allows). */
  task_type: 'CAUSAL_LM' | null;
  /** Name or path of the base model, written to `adapter_config.json` (default null). */
  base_model_name_or_path: string | null;
  /** Hub revision of the base model (default null; informational). */
  revision: string | null;
  /** True when the adapter is loaded for inference only: its parameters are not trainable (default false). */
  inference_mode: boolean;
  /** PEFT's auto-class mapping (default null; kept as is). */
  auto_mapping: Record<string, unknown> | null;
  /** Rank r of every adapter unless `rank_pattern` says otherwise (default 8). */
  r: number;
  /**
   * Modules to adapt: a list matches a module name exactly or as a suffix after a dot (`q_proj` matches
   * `model.layers.0.self_attn.q_proj`); a string is a regex that must match the whole name; `"all-linear"` is every
   * linear except `lm_head`. Default null: PEFT's choice for Llama, `["q_proj", "v_proj"]`.
   */
  target_modules: string[] | string | null;
  /** Modules never adapted, with the same list/regex rules as `target_modules` (default null). */
  exclude_modules: string[] | string | null;
  /** α: the update is scaled by s = α / r (α / √r with rsLoRA) (default 8). */
  lora_alpha: number;
  /** Dropout probability on the adapter's input during training (default 0). */
  lora_dropout: number;
  /** Only false: Llama's linears store W as [out, in] (true is reset to false with a warning, as PEFT does). */
  fan_in_fan_out: boolean;
  /**
   * Which base biases train and are saved with the adapter: `"none"`, `"all"` (every bias of the model) or
   * `"lora_only"` (biases of the adapted linears). They are base parameters: disabling or unloading the adapter
   * does not restore them, as in PEFT (default `"none"`).
   */
  bias: 'none' | 'all' | 'lora_only';
  /** rsLoRA (Kalajdzievski 2023): s = α / √r instead of α / r (default false). */
  use_rslora: boolean;
  /** Linear modules (suffix match) trained in full as a copy beside the adapter, e.g. `["lm_head"]` (default null). */
  modules_to_save: string[] | null;
  /** Initialisation of A and B: true, false, `"gaussian"`, `"pissa"`, `"pissa_niter_K"` (default true). */
  init_lora_weights: InitLoraWeights;
  /** Layer indices to adapt (with a list `target_modules` only); null for all (default null). */
  layers_to_transform: number[] | number | null;
  /** Name(s) of the module list the layer index follows, e.g. `"layers"`; null: any (default null). */
  layers_pattern: string[] | string | null;
  /** Per-module rank overrides: key = module name or regex suffix (`"mlp.down_proj"`, `"layers.0.*q_proj"`) (default {}). */
  rank_pattern: Record<string, number>;
  /** Per-module α overrides, keys as in `rank_pattern` (default {}). */
  alpha_pattern: Record<string, number>;
  /** DoRA (Liu et al. 2024): magnitude vector times the row-normalised W + s·B·A (default false). */
  use_dora: boolean;
  /** Must be null (Megatron parallel linears are not implemented). */
  megatron_config: Record<string, unknown> | null;
  /** Megatron module path (default `"megatron.core"`; unused). */
  megatron_core: string | null;
  /** Must be {} (LoftQ is not implemented). */
  loftq_config: Record<string, unknown>;
  /** Must be null (EVA init is not implemented). */
  eva_config: Record<string, unknown> | null;
  /** Must be null (CorDA init is not implemented). */
  corda_config: Record<string, unknown> | null;
  /** Must be null (layer replication is not implemented). */
  layer_replication: unknown[] | null;
  /** Must be false (a bias on lora_B is not implemented). */
  lora_bias: boolean;
  /** Must be null (trainable token indices are not implemented). */
  trainable_token_indices: unknown;
  /** Must be null (LoRA on raw parameters is not implemented). */
  target_parameters: string[] | null;
  /** Must be false (QALoRA is not implemented). */
  use_qalora: boolean;
  /** QALoRA group size (default 16; unused). */
  qalora_group_size: number;
}

/** Every default in one place: PEFT's `LoraConfig` defaults. */
export const LORA_CONFIG_DEFAULTS: LoraConfig = {
  peft_type: 'LORA',
  task_type: 'CAUSAL_LM',
  base_model_name_or_path: null,
  revision: null,
  inference_mode: false,
  auto_mapping: null,
  r: 8,
  target_modules: null,
  exclude_modules: null,
  lora_alpha: 8,
  lora_dropout: 0,
  fan_in_fan_out: false,
  bias: 'none',
  use_rslora: false,
  modules_to_save: null,
  init_lora_weights: true,
  layers_to_transform: null,
  layers_pattern: null,
  rank_pattern: {},
  alpha_pattern: {},
  use_dora: false,
  megatron_config: null,
  megatron_core: 'megatron.core',
  loftq_config: {},
  eva_config: null,
  corda_config: null,
  layer_replication: null,
  lora_bias: false,
  trainable_token_indices: null,
  target_parameters: null,
  use_qalora: false,
  qalora_group_size: 16,
};

/** PEFT's default `target_modules` for Llama (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING["llama"]). */
export const LLAMA_DEFAULT_TARGET_MODULES = ['q_proj', 'v_proj'] as const;

/** The linear modules of a Llama decoder, by their last name component (what a `target_modules` list names). */
export const LLAMA_LINEAR_MODULES = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
  'lm_head',
] as const;

/** Module name components of a Llama model besides its linears (`model.layers.0.self_attn`, `model.norm`, ...). */
const LLAMA_OTHER_PARTS = new Set([
  'model',
  'layers',
  'embed_tokens',
  'norm',
  'self_attn',
  'mlp',
  'input_layernorm',
  'post_attention_layernorm',
]);

/** True for a component of a Llama module name: a linear, a container, a norm, or a layer index. */
function isLlamaModulePart(part: string): boolean {
  return (
    (LLAMA_LINEAR_MODULES as readonly string[]).includes(part) ||
    LLAMA_OTHER_PARTS.has(part) ||
    /^\d+$/.test(part)
  );
}

/** PEFT fields that are accepted but carry nothing for loralab (not serialised by PEFT, or runtime-only). */
const IGNORED_KEYS = new Set(['runtime_config']);

export interface ResolveOptions {
  /**
   * What to do with a key that is not a PEFT `LoraConfig` field: `"error"` (default, for configs written in code)
   * or `"warn"` (for an `adapter_config.json`, which newer PEFT versions may extend).
   */
  unknownKeys?: 'error' | 'warn';
  /** Receives warnings (unknown keys, `fan_in_fan_out` reset); default `console.warn`. */
  onWarning?: (message: string) => void;
  /** Where the config came from, for messages (e.g. the file path). */
  source?: string;
}

function fail(where: string, key: string, value: unknown, expected: string): never {
  throw new ConfigError(
    `${where}: LoraConfig.${key} must be ${expected}, found ${JSON.stringify(value)}`,
    key,
    value,
  );
}

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Compiles a Python-style regex for JavaScript (`(?P<name>` → `(?<name>`), anchored as `re.fullmatch` when asked. */
export function pythonRegex(pattern: string, full: boolean): RegExp {
  const js = pattern.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
  return new RegExp(full ? `^(?:${js})$` : js);
}

/** Turns `init_lora_weights` into a `LoraInit`; throws `ConfigError` for values loralab does not implement. */
export function parseInitLoraWeights(v: unknown, where = 'LoraConfig'): LoraInit {
  if (v === true) return { kind: 'kaiming' };
  if (v === false) return { kind: 'random' };
  if (v === 'gaussian') return { kind: 'gaussian' };
  if (v === 'pissa') return { kind: 'pissa', niter: null };
  if (typeof v === 'string') {
    const m = /^pissa_niter_(\d+)$/.exec(v);
    if (m) return { kind: 'pissa', niter: Number(m[1]) };
    if (['olora', 'loftq', 'eva', 'corda'].includes(v) || v.startsWith('corda')) {
      throw new ConfigError(
        `${where}: init_lora_weights "${v}" is a PEFT initialisation loralab does not implement; use true, false, "gaussian", "pissa" or "pissa_niter_K"`,
        'init_lora_weights',
        v,
      );
    }
  }
  return fail(where, 'init_lora_weights', v, 'true, false, "gaussian", "pissa" or "pissa_niter_K"');
}

/**
 * Fills PEFT's defaults into `input` and checks every field and cross-field rule (PEFT's `__post_init__` rules plus
 * loralab's limits). Unknown keys throw unless `options.unknownKeys` is `"warn"`. Returns a new, complete config.
 */
export function resolveLoraConfig(
  input: Partial<LoraConfig> | Record<string, unknown>,
  options: ResolveOptions = {},
): LoraConfig {
  const where = options.source ?? 'LoraConfig';
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  if (!isRecord(input)) fail(where, '(root)', input, 'an object');
  const known = new Set(Object.keys(LORA_CONFIG_DEFAULTS));
  const given: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) {
    if (known.has(k)) given[k] = v;
    else if (IGNORED_KEYS.has(k)) continue;
    else if (options.unknownKeys === 'warn') {
      warn(`${where}: ignoring unknown LoraConfig key '${k}' (written by a newer PEFT version?)`);
    } else {
      throw new ConfigError(
        `${where}: unknown LoraConfig key '${k}'; known keys: ${[...known].join(', ')}`,
        k,
        v,
      );
    }
  }
  // `undefined` counts as absent, so a spread of optional fields does not erase defaults.
  for (const k of Object.keys(given)) if (given[k] === undefined) delete given[k];
  const c = structuredClone({ ...LORA_CONFIG_DEFAULTS, ...given }) as LoraConfig;

  if (c.peft_type !== 'LORA') fail(where, 'peft_type', c.peft_type, '"LORA"');
  if (c.task_type !== 'CAUSAL_LM' && c.task_type !== null)
    fail(where, 'task_type', c.task_type, '"CAUSAL_LM" or null');
  for (const k of ['base_model_name_or_path', 'revision', 'megatron_core'] as const) {
    if (c[k] !== null && typeof c[k] !== 'string') fail(where, k, c[k], 'a string or null');
  }
  for (const k of [
    'inference_mode',
    'fan_in_fan_out',
    'use_rslora',
    'use_dora',
    'lora_bias',
    'use_qalora',
  ] as const) {
    if (typeof c[k] !== 'boolean') fail(where, k, c[k], 'true or false');
  }
  if (c.auto_mapping !== null && !isRecord(c.auto_mapping))
    fail(where, 'auto_mapping', c.auto_mapping, 'an object or null');
  if (!Number.isInteger(c.r) || c.r <= 0) fail(where, 'r', c.r, 'a positive integer');
  // PEFT takes any number; α <= 0 silently flips the update's sign or zeroes it, which no recipe wants.
  if (typeof c.lora_alpha !== 'number' || !Number.isFinite(c.lora_alpha) || c.lora_alpha <= 0)
    fail(where, 'lora_alpha', c.lora_alpha, 'a positive number');
  if (typeof c.lora_dropout !== 'number' || !(c.lora_dropout >= 0 && c.lora_dropout < 1)) {
    fail(where, 'lora_dropout', c.lora_dropout, 'a number in [0, 1)');
  }
  for (const k of ['target_modules', 'exclude_modules'] as const) {
    const v = c[k];
    if (v !== null && typeof v !== 'string' && !isStringList(v))
      fail(where, k, v, 'a list of module names, a regex string or null');
    if (k === 'target_modules' && Array.isArray(v)) {
      const unknown = v.filter((name) => name.split('.').some((part) => !isLlamaModulePart(part)));
      if (unknown.length > 0) {
        throw new ConfigError(
          `${where}: LoraConfig.target_modules names ${unknown.map((n) => `'${n}'`).join(', ')}, not a module of a Llama model; its linears are ${LLAMA_LINEAR_MODULES.join(', ')} (a name or a dotted suffix such as 'self_attn.q_proj'), or use "all-linear"`,
          'target_modules',
          v,
        );
      }
    }
    if (typeof v === 'string') {
      if (v === 'all-linear') continue;
      try {
        pythonRegex(v, true);
      } catch (cause) {
        throw new ConfigError(
          `${where}: LoraConfig.${k} ${JSON.stringify(v)} is not a valid regex (${(cause as Error).message})`,
          k,
          v,
          {
            cause,
          },
        );
      }
    }
  }
  if (c.exclude_modules === 'all-linear')
    fail(
      where,
      'exclude_modules',
      c.exclude_modules,
      'a list or a regex ("all-linear" is for target_modules)',
    );
  if (c.bias !== 'none' && c.bias !== 'all' && c.bias !== 'lora_only') {
    fail(where, 'bias', c.bias, '"none", "all" or "lora_only"');
  }
  if (c.modules_to_save !== null && !isStringList(c.modules_to_save))
    fail(where, 'modules_to_save', c.modules_to_save, 'a list of module names or null');
  parseInitLoraWeights(c.init_lora_weights, where);
  const ltt = c.layers_to_transform;
  if (
    ltt !== null &&
    !(Number.isInteger(ltt) && (ltt as number) >= 0) &&
    !(Array.isArray(ltt) && ltt.every((i) => Number.isInteger(i) && i >= 0))
  ) {
    fail(where, 'layers_to_transform', ltt, 'a layer index, a list of layer indices or null');
  }
  const lp = c.layers_pattern;
  if (lp !== null && typeof lp !== 'string' && !isStringList(lp))
    fail(where, 'layers_pattern', lp, 'a string, a list of strings or null');
  for (const k of ['rank_pattern', 'alpha_pattern'] as const) {
    const p = c[k];
    if (!isRecord(p)) fail(where, k, p, 'an object of module pattern -> number');
    for (const [key, v] of Object.entries(p)) {
      const ok =
        k === 'rank_pattern'
          ? Number.isInteger(v) && (v as number) > 0
          : typeof v === 'number' && Number.isFinite(v) && v > 0;
      if (!ok)
        fail(where, `${k}.${key}`, v, k === 'rank_pattern' ? 'a positive integer' : 'a positive number');
    }
  }
  // PEFT's __post_init__ rules.
  if (typeof c.target_modules === 'string' && ltt !== null) {
    fail(where, 'layers_to_transform', ltt, 'null when target_modules is a regex string (PEFT rule)');
  }
  if (typeof c.target_modules === 'string' && lp !== null) {
    fail(where, 'layers_pattern', lp, 'null when target_modules is a regex string (PEFT rule)');
  }
  if (lp !== null && lp.length > 0 && ltt === null) {
    fail(where, 'layers_to_transform', ltt, 'set when layers_pattern is set (PEFT rule)');
  }
  // Fields loralab accepts only at their defaults (features it does not implement).
  const unsupported: [keyof LoraConfig, boolean, string][] = [
    ['megatron_config', c.megatron_config === null, 'null'],
    ['loftq_config', isRecord(c.loftq_config) && Object.keys(c.loftq_config).length === 0, '{}'],
    ['eva_config', c.eva_config === null, 'null'],
    ['corda_config', c.corda_config === null, 'null'],
    ['layer_replication', c.layer_replication === null, 'null'],
    ['lora_bias', c.lora_bias === false, 'false'],
    ['trainable_token_indices', c.trainable_token_indices === null, 'null'],
    ['target_parameters', c.target_parameters === null, 'null'],
    ['use_qalora', c.use_qalora === false, 'false'],
  ];
  for (const [key, ok, expected] of unsupported) {
    if (!ok) {
      const why =
        key === 'trainable_token_indices'
          ? ' (PEFT TrainableTokens: trained rows of added or chosen tokens in embed_tokens; loralab cannot load them. Merge them into the base model with PEFT and load the merged folder instead)'
          : '';
      throw new ConfigError(
        `${where}: LoraConfig.${key} = ${JSON.stringify(c[key])} asks for a PEFT feature loralab does not implement; it must be ${expected}${why}`,
        key,
        c[key],
      );
    }
  }
  if (!Number.isInteger(c.qalora_group_size) || c.qalora_group_size <= 0)
    fail(where, 'qalora_group_size', c.qalora_group_size, 'a positive integer');
  if (c.fan_in_fan_out) {
    warn(
      `${where}: fan_in_fan_out is set to true but the target modules are Linear layers ([out, in]); setting fan_in_fan_out to false (as PEFT does)`,
    );
    c.fan_in_fan_out = false;
  }
  return c;
}

/** The config as PEFT writes `adapter_config.json`: every field, sorted by key (PEFT's `json.dumps(sort_keys=True)`). */
export function toAdapterConfigJson(config: LoraConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(config).sort()) out[k] = config[k as keyof LoraConfig];
  return out;
}
