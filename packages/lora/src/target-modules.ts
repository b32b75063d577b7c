// Which modules an adapter targets, and with which rank and alpha: PEFT's `check_target_module_exists`,
// `_maybe_include_all_linear_layers` and `get_pattern_key` (peft/tuners/tuners_utils.py, peft/utils/other.py),
// applied to the module names of a `LlamaForCausalLM` (the names PyTorch's `named_modules()` would list).
import { ConfigError, type LlamaForCausalLM } from '@loralab/model';
import { LLAMA_DEFAULT_TARGET_MODULES, type LoraConfig, pythonRegex } from './config.js';

/** Every module name of the model, as `named_modules()` lists them: each dotted prefix of a parameter key. */
export function moduleNames(model: LlamaForCausalLM): string[] {
  const names = new Set<string>();
  const keys = [...model.parameters().keys()];
  for (const key of keys) {
    const parts = key.split('.');
    for (let i = 1; i < parts.length; i++) names.add(parts.slice(0, i).join('.'));
  }
  for (const p of model.projectionNames()) names.add(p); // a tied lm_head has no parameter of its own
  return [...names];
}

function matchesList(list: readonly string[], key: string): boolean {
  return list.includes(key) || list.some((t) => key.endsWith(`.${t}`));
}

/** PEFT's `exclude_modules` test: a regex string must match the whole name; a list matches exactly or as a dot-suffix. */
export function isExcluded(config: LoraConfig, key: string): boolean {
  const ex = config.exclude_modules;
  if (ex === null || ex.length === 0) return false;
  if (typeof ex === 'string') return pythonRegex(ex, true).test(key);
  return matchesList(ex, key);
}

/**
 * PEFT's `check_target_module_exists` for one module name (after `"all-linear"` has been expanded and the null
 * default replaced): a regex string must match the whole name; a list matches exactly or as a dot-suffix, and only
 * in the suffix case are `layers_to_transform` / `layers_pattern` applied to the layer index in the name.
 */
export function isTargeted(config: LoraConfig, key: string): boolean {
  if (isExcluded(config, key)) return false;
  const tm = config.target_modules;
  if (tm === null) throw new Error('isTargeted: resolve target_modules first (resolveTargetModules)');
  if (typeof tm === 'string') return pythonRegex(tm, true).test(key);
  if (tm.includes(key)) return true;
  if (!tm.some((t) => key.endsWith(`.${t}`))) return false;
  const indexes = config.layers_to_transform;
  const usingIndexes = indexes !== null && (Array.isArray(indexes) ? indexes.length > 0 : true);
  if (!usingIndexes) return true;
  let m: RegExpExecArray | null = null;
  const lp = config.layers_pattern;
  if (lp === null || lp.length === 0) {
    m = /^.*\.[^.]*\.(\d+)\./.exec(key);
  } else {
    for (const pattern of typeof lp === 'string' ? [lp] : lp) {
      m = pythonRegex(`.*\\.${pattern}\\.(\\d+)\\.`, false).exec(key);
      if (m && m.index === 0) break;
      m = null;
    }
  }
  if (!m) return false;
  const layer = Number(m[1]);
  return Array.isArray(indexes) ? indexes.includes(layer) : layer === indexes;
}

/**
 * Replaces `target_modules: null` by PEFT's Llama default and `"all-linear"` by the set of last name components of
 * every linear except `lm_head` (as PEFT saves it), sorted. Other values are returned unchanged.
 */
export function resolveTargetModules(config: LoraConfig, model: LlamaForCausalLM): string[] | string {
  const tm = config.target_modules;
  if (tm === null) return [...LLAMA_DEFAULT_TARGET_MODULES];
  if (tm === 'all-linear') {
    const names = new Set(
      model
        .projectionNames()
        .filter((n) => n !== 'lm_head')
        .map((n) => n.split('.').at(-1)!),
    );
    return [...names].sort();
  }
  return tm;
}

/**
 * The projections an adapter with `config` (target_modules already resolved) wraps, in forward order. Throws
 * `ConfigError` when a matched module is not a linear projection (LoRA on embeddings or norms is not implemented)
 * or when nothing matches (PEFT's "Target modules ... not found in the base model").
 */
export function targetedProjections(config: LoraConfig, model: LlamaForCausalLM): string[] {
  const projections = new Set(model.projectionNames());
  const out: string[] = [];
  for (const name of moduleNames(model)) {
    if (!isTargeted(config, name)) continue;
    if (!projections.has(name)) {
      throw new ConfigError(
        `target_modules ${JSON.stringify(config.target_modules)} matches '${name}', which is not a linear projection; loralab adapts only linears (${[...projections].slice(0, 2).join(', ')}, ...)`,
        'target_modules',
        config.target_modules,
      );
    }
    out.push(name);
  }
  if (out.length === 0) {
    throw new ConfigError(
      `target_modules ${JSON.stringify(config.target_modules)} (exclude_modules ${JSON.stringify(config.exclude_modules)}, layers_to_transform ${JSON.stringify(config.layers_to_transform)}) match no module of the model; its linears are named like ${[...projections].slice(0, 3).join(', ')}`,
      'target_modules',
      config.target_modules,
    );
  }
  const order = model.projectionNames();
  return out.sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

/**
 * PEFT's `get_pattern_key`: the key of `rank_pattern` / `alpha_pattern` that applies to module `name` (an exact key
 * first, then the first key `k` with `^(.*\.)?(k)$` matching), or null.
 */
export function getPatternKey(patternKeys: readonly string[], name: string): string | null {
  if (patternKeys.includes(name)) return name;
  for (const key of patternKeys)
    if (pythonRegex(`(.*\\.)?(${key})$`, false).exec(name)?.index === 0) return key;
  return null;
}

/** The rank and alpha of module `name` under `config` (its patterns, else `r` and `lora_alpha`). */
export function rankAndAlpha(config: LoraConfig, name: string): { r: number; alpha: number } {
  const rk = getPatternKey(Object.keys(config.rank_pattern), name);
  const ak = getPatternKey(Object.keys(config.alpha_pattern), name);
  return {
    r: rk === null ? config.r : config.rank_pattern[rk]!,
    alpha: ak === null ? config.lora_alpha : config.alpha_pattern[ak]!,
  };
}

/**
 * PEFT's `modules_to_save` match (`_set_trainable`): a module whose name ends with one of the entries. Returns the
 * matching projection names; a matched module that is not a projection is a `ConfigError` (not implemented).
 */
export function modulesToSave(config: LoraConfig, model: LlamaForCausalLM): string[] {
  const list = config.modules_to_save;
  if (!list || list.length === 0) return [];
  const projections = new Set(model.projectionNames());
  const out: string[] = [];
  for (const name of moduleNames(model)) {
    if (!list.some((t) => name.endsWith(t))) continue;
    if (!projections.has(name)) {
      throw new ConfigError(
        `modules_to_save ${JSON.stringify(list)} matches '${name}', which is not a linear projection; loralab saves only linears (e.g. lm_head)`,
        'modules_to_save',
        list,
      );
    }
    out.push(name);
  }
  if (out.length === 0) {
    throw new ConfigError(
      `modules_to_save ${JSON.stringify(list)} match no module of the model`,
      'modules_to_save',
      list,
    );
  }
  return out;
}
