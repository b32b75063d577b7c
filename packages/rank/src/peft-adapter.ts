// PEFT LoRA adapters as the analysis needs them: adapter_config.json's scaling fields and the
// lora_A / lora_B key names of adapter_model.safetensors (huggingface/peft, tuners/lora/config.py and model.py).
import { DataError } from './errors.js';
import type { Matrix } from './matrix.js';
import type { WeightSource } from './weight-source.js';

/** The fields of PEFT's `adapter_config.json` that fix ΔW = scaling · B · A. */
export interface PeftAdapterConfig {
  /** LoRA rank r (default for modules not in rank_pattern). */
  r: number;
  /** LoRA alpha (default for modules not in alpha_pattern). */
  lora_alpha: number;
  /** rsLoRA scaling alpha / sqrt(r) instead of alpha / r (Kalajdzievski 2023). Default false. */
  use_rslora: boolean;
  /** Per-module rank overrides: pattern → r. */
  rank_pattern: Record<string, number>;
  /** Per-module alpha overrides: pattern → alpha. */
  alpha_pattern: Record<string, number>;
}

/** Validates a parsed adapter_config.json (other keys are ignored); `file` names it in errors. */
export function parsePeftAdapterConfig(value: unknown, file = 'adapter_config.json'): PeftAdapterConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DataError('expected a JSON object', { file });
  }
  const v = value as Record<string, unknown>;
  const num = (key: string): number => {
    const x = v[key];
    if (typeof x !== 'number' || !(x > 0))
      throw new DataError(`"${key}" must be a positive number, found ${JSON.stringify(x)}`, { file });
    return x;
  };
  const pattern = (key: string): Record<string, number> => {
    const x = v[key] ?? {};
    if (typeof x !== 'object' || x === null || Array.isArray(x))
      throw new DataError(`"${key}" must be an object`, { file });
    for (const [k, n] of Object.entries(x)) {
      if (typeof n !== 'number' || !(n > 0))
        throw new DataError(`"${key}"."${k}" must be a positive number, found ${JSON.stringify(n)}`, {
          file,
        });
    }
    return x as Record<string, number>;
  };
  const rs = v.use_rslora ?? false;
  if (typeof rs !== 'boolean')
    throw new DataError(`"use_rslora" must be a boolean, found ${JSON.stringify(rs)}`, { file });
  return {
    r: num('r'),
    lora_alpha: num('lora_alpha'),
    use_rslora: rs,
    rank_pattern: pattern('rank_pattern'),
    alpha_pattern: pattern('alpha_pattern'),
  };
}

/**
 * The pattern key that applies to `modulePath` (PEFT's get_pattern_key): the first key k (a regular
 * expression) with `^(.*\.)?(k)$` matching the whole module path, or undefined.
 */
function patternKey(patterns: Record<string, number>, modulePath: string): string | undefined {
  return Object.keys(patterns).find((k) => new RegExp(`^(.*\\.)?(${k})$`).test(modulePath));
}

/** r, alpha and the scaling of ΔW = scaling · B · A for one module (PEFT's LoraLayer.update_layer). */
export function loraScaling(
  config: PeftAdapterConfig,
  modulePath: string,
): { r: number; alpha: number; scaling: number } {
  const rk = patternKey(config.rank_pattern, modulePath);
  const ak = patternKey(config.alpha_pattern, modulePath);
  const r = rk === undefined ? config.r : config.rank_pattern[rk]!;
  const alpha = ak === undefined ? config.lora_alpha : config.alpha_pattern[ak]!;
  return { r, alpha, scaling: config.use_rslora ? alpha / Math.sqrt(r) : alpha / r };
}

/** One adapted module: its base weight key and the adapter's two factor keys. */
export interface LoraModuleKeys {
  /** `model.layers.0.self_attn.q_proj` */
  path: string;
  /** `model.layers.0.self_attn.q_proj.weight` in the base checkpoint. */
  baseKey: string;
  /** `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`, `[r, in]`. */
  aKey: string;
  /** `…lora_B.weight`, `[out, r]`. */
  bKey: string;
}

const LORA_A = /^base_model\.model\.(.+)\.lora_A(?:\.[A-Za-z0-9_-]+)?\.weight$/;

/** The adapted modules of an adapter, from its tensor names (PEFT saves without the adapter name; `.default` is accepted). */
export function loraModules(adapterNames: string[]): LoraModuleKeys[] {
  const names = new Set(adapterNames);
  const out: LoraModuleKeys[] = [];
  for (const key of adapterNames) {
    const m = LORA_A.exec(key);
    if (!m) continue;
    const path = m[1]!;
    const bKey = key.replace('.lora_A', '.lora_B');
    if (!names.has(bKey)) throw new DataError(`adapter has ${key} but no ${bKey}`, { file: key });
    out.push({ path, baseKey: `${path}.weight`, aKey: key, bKey });
  }
  return out;
}

/** Reads B and A of one module and checks them against the base weight's shape and the configured rank. */
export async function readLoraFactors(
  adapter: WeightSource,
  keys: LoraModuleKeys,
  base: Matrix,
  config: PeftAdapterConfig,
): Promise<{ a: Matrix; b: Matrix; scaling: number }> {
  const a = await adapter.matrix(keys.aKey);
  const b = await adapter.matrix(keys.bKey);
  const { r, scaling } = loraScaling(config, keys.path);
  if (a.rows !== r || b.cols !== r || a.cols !== base.cols || b.rows !== base.rows) {
    throw new DataError(
      `LoRA factors do not fit: expected lora_A [${r}, ${base.cols}] and lora_B [${base.rows}, ${r}] (r from adapter_config.json), found [${a.rows}, ${a.cols}] and [${b.rows}, ${b.cols}]`,
      { file: keys.aKey },
    );
  }
  return { a, b, scaling };
}
