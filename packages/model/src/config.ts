// LlamaConfig: the Hugging Face `LlamaConfig` fields (transformers/models/llama/configuration_llama.py),
// defaults in one constant, cross-field rules checked once in `resolveLlamaConfig`, and config.json I/O.
import { readFile } from 'node:fs/promises';
import { checksumOf, type FileChecksum, verifyFileChecksum } from './checksums.js';
import { ConfigError } from './errors.js';
import { writeFileAtomic } from './fs-atomic.js';

/** Rotary-embedding frequency scaling, as in Hugging Face `rope_scaling` (`type` is accepted as an alias of `rope_type`). */
export type RopeScaling =
  | { rope_type: 'linear'; factor: number }
  | {
      rope_type: 'llama3';
      factor: number;
      low_freq_factor: number;
      high_freq_factor: number;
      original_max_position_embeddings: number;
    };

export interface LlamaConfig {
  /** Number of token ids. */
  vocab_size: number;
  /** Model width d. */
  hidden_size: number;
  /** Width of the SwiGLU MLP's hidden layer. */
  intermediate_size: number;
  /** Number of decoder blocks. */
  num_hidden_layers: number;
  /** Number of query heads. */
  num_attention_heads: number;
  /** Number of key/value heads (grouped-query attention); defaults to `num_attention_heads`. */
  num_key_value_heads: number;
  /** Width of one head; defaults to `hidden_size / num_attention_heads`. */
  head_dim: number;
  /** MLP activation; only `silu` (SwiGLU) is supported. */
  hidden_act: 'silu';
  /** Longest sequence the rotary tables are meant for (positions beyond it still work). */
  max_position_embeddings: number;
  /** Standard deviation of the normal initialiser of linear and embedding weights (default 0.02). */
  initializer_range: number;
  /** Epsilon inside RMSNorm (default 1e-6). */
  rms_norm_eps: number;
  /** Rotary base θ (default 10000). */
  rope_theta: number;
  /** Rotary scaling, or null for none. */
  rope_scaling: RopeScaling | null;
  /** Bias on q/k/v/o projections (default false). */
  attention_bias: boolean;
  /** Bias on gate/up/down projections (default false). */
  mlp_bias: boolean;
  /** Dropout on attention probabilities during training (default 0). */
  attention_dropout: number;
  /** Dropout on each block's attention and MLP outputs before the residual add, during training (default 0; a loralab extension). */
  residual_dropout: number;
  /** Share `lm_head.weight` with `model.embed_tokens.weight` (default false). */
  tie_word_embeddings: boolean;
  /** Beginning-of-sequence id, or null. */
  bos_token_id: number | null;
  /** End-of-sequence id(s), or null. */
  eos_token_id: number | number[] | null;
  /** Padding id, or null. */
  pad_token_id: number | null;
}

/** Defaults of every optional field (the Hugging Face defaults, except the sizes, which are required). */
export const LLAMA_CONFIG_DEFAULTS = {
  hidden_act: 'silu',
  max_position_embeddings: 2048,
  initializer_range: 0.02,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  rope_scaling: null,
  attention_bias: false,
  mlp_bias: false,
  attention_dropout: 0,
  residual_dropout: 0,
  tie_word_embeddings: false,
  bos_token_id: 1,
  eos_token_id: 2,
  pad_token_id: null,
} as const satisfies Partial<LlamaConfig>;

const REQUIRED = [
  'vocab_size',
  'hidden_size',
  'intermediate_size',
  'num_hidden_layers',
  'num_attention_heads',
] as const;

function positiveInt(cfg: Record<string, unknown>, key: string): number {
  const v = cfg[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new ConfigError(`config.${key} must be a positive integer, found ${JSON.stringify(v)}`, key, v);
  }
  return v;
}

function positiveNumber(cfg: Record<string, unknown>, key: string): number {
  const v = cfg[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new ConfigError(`config.${key} must be a positive number, found ${JSON.stringify(v)}`, key, v);
  }
  return v;
}

function probability(cfg: Record<string, unknown>, key: string): number {
  const v = cfg[key];
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) {
    throw new ConfigError(`config.${key} must be a number in [0, 1), found ${JSON.stringify(v)}`, key, v);
  }
  return v;
}

function bool(cfg: Record<string, unknown>, key: string): boolean {
  const v = cfg[key];
  if (typeof v !== 'boolean') {
    throw new ConfigError(`config.${key} must be true or false, found ${JSON.stringify(v)}`, key, v);
  }
  return v;
}

function tokenId(cfg: Record<string, unknown>, key: string, vocab: number): number | null {
  return tokenIdValue(cfg[key], key, vocab);
}

function tokenIdValue(v: unknown, key: string, vocab: number): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= vocab) {
    throw new ConfigError(
      `config.${key} must be null or an integer in [0, vocab_size=${vocab}), found ${JSON.stringify(v)}`,
      key,
      v,
    );
  }
  return v;
}

function resolveRopeScaling(raw: unknown): RopeScaling | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== 'object') {
    throw new ConfigError(
      `config.rope_scaling must be an object or null, found ${JSON.stringify(raw)}`,
      'rope_scaling',
      raw,
    );
  }
  const r = raw as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
  const factor = positiveNumber(r, 'factor');
  switch (type) {
    case 'default':
      return null;
    case 'linear':
      return { rope_type: 'linear', factor };
    case 'llama3': {
      const low = positiveNumber(r, 'low_freq_factor');
      const high = positiveNumber(r, 'high_freq_factor');
      if (high <= low) {
        throw new ConfigError(
          `config.rope_scaling.high_freq_factor (${high}) must exceed low_freq_factor (${low})`,
          'rope_scaling.high_freq_factor',
          high,
        );
      }
      return {
        rope_type: 'llama3',
        factor,
        low_freq_factor: low,
        high_freq_factor: high,
        original_max_position_embeddings: positiveInt(r, 'original_max_position_embeddings'),
      };
    }
    default:
      throw new ConfigError(
        `config.rope_scaling.rope_type must be 'linear' or 'llama3', found ${JSON.stringify(type)}`,
        'rope_scaling.rope_type',
        type,
      );
  }
}

/**
 * Fills defaults into a partial (e.g. parsed config.json) and checks every field and cross-field rule.
 * Unknown keys are ignored, as Hugging Face does. Throws `ConfigError` naming the key.
 */
export function resolveLlamaConfig(partial: Partial<LlamaConfig> | Record<string, unknown>): LlamaConfig {
  const cfg: Record<string, unknown> = { ...LLAMA_CONFIG_DEFAULTS, ...partial };
  for (const key of REQUIRED) {
    if (cfg[key] === undefined) throw new ConfigError(`config.${key} is required but missing`, key);
  }
  const vocab_size = positiveInt(cfg, 'vocab_size');
  const hidden_size = positiveInt(cfg, 'hidden_size');
  const num_attention_heads = positiveInt(cfg, 'num_attention_heads');
  cfg.num_key_value_heads ??= num_attention_heads;
  const num_key_value_heads = positiveInt(cfg, 'num_key_value_heads');
  if (num_attention_heads % num_key_value_heads !== 0) {
    throw new ConfigError(
      `config.num_attention_heads (${num_attention_heads}) must be a multiple of num_key_value_heads (${num_key_value_heads})`,
      'num_key_value_heads',
      num_key_value_heads,
    );
  }
  if (cfg.head_dim === undefined || cfg.head_dim === null) {
    if (hidden_size % num_attention_heads !== 0) {
      throw new ConfigError(
        `config.hidden_size (${hidden_size}) must be divisible by num_attention_heads (${num_attention_heads}), or set head_dim`,
        'hidden_size',
        hidden_size,
      );
    }
    cfg.head_dim = hidden_size / num_attention_heads;
  }
  const head_dim = positiveInt(cfg, 'head_dim');
  if (head_dim % 2 !== 0) {
    throw new ConfigError(
      `config.head_dim must be even for rotary embeddings, found ${head_dim}`,
      'head_dim',
      head_dim,
    );
  }
  if (cfg.hidden_act !== 'silu') {
    throw new ConfigError(
      `config.hidden_act must be 'silu' (SwiGLU), found ${JSON.stringify(cfg.hidden_act)}`,
      'hidden_act',
      cfg.hidden_act,
    );
  }
  const eosRaw = cfg.eos_token_id;
  const eos = Array.isArray(eosRaw)
    ? eosRaw.map((v, i) => tokenIdValue(v, `eos_token_id[${i}]`, vocab_size) ?? 0)
    : tokenId(cfg, 'eos_token_id', vocab_size);
  return {
    vocab_size,
    hidden_size,
    intermediate_size: positiveInt(cfg, 'intermediate_size'),
    num_hidden_layers: positiveInt(cfg, 'num_hidden_layers'),
    num_attention_heads,
    num_key_value_heads,
    head_dim,
    hidden_act: 'silu',
    max_position_embeddings: positiveInt(cfg, 'max_position_embeddings'),
    initializer_range: positiveNumber(cfg, 'initializer_range'),
    rms_norm_eps: positiveNumber(cfg, 'rms_norm_eps'),
    rope_theta: positiveNumber(cfg, 'rope_theta'),
    rope_scaling: resolveRopeScaling(cfg.rope_scaling),
    attention_bias: bool(cfg, 'attention_bias'),
    mlp_bias: bool(cfg, 'mlp_bias'),
    attention_dropout: probability(cfg, 'attention_dropout'),
    residual_dropout: probability(cfg, 'residual_dropout'),
    tie_word_embeddings: bool(cfg, 'tie_word_embeddings'),
    bos_token_id: tokenId(cfg, 'bos_token_id', vocab_size),
    eos_token_id: eos,
    pad_token_id: tokenId(cfg, 'pad_token_id', vocab_size),
  };
}

/** Reads and resolves a Hugging Face `config.json`. Throws `ConfigError` (with the path in the message). */
export async function readConfigJson(path: string): Promise<LlamaConfig> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new ConfigError(`cannot read ${path}: ${(cause as Error).message}`, '(file)', path, { cause });
  }
  await verifyFileChecksum(path, bytes); // when the folder has checksums.json
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new ConfigError(`cannot read ${path} as JSON: ${(cause as Error).message}`, '(file)', path, {
      cause,
    });
  }
  if (typeof raw !== 'object' || raw === null)
    throw new ConfigError(`${path} must hold a JSON object`, '(file)', raw);
  const modelType = (raw as Record<string, unknown>).model_type;
  if (modelType !== undefined && modelType !== 'llama') {
    throw new ConfigError(
      `${path}: model_type must be 'llama', found ${JSON.stringify(modelType)}`,
      'model_type',
      modelType,
    );
  }
  try {
    return resolveLlamaConfig(raw as Record<string, unknown>);
  } catch (e) {
    if (e instanceof ConfigError)
      throw new ConfigError(`${path}: ${e.message}`, e.key, e.value, { cause: e });
    throw e;
  }
}

/** The JSON object Hugging Face writes for a `LlamaForCausalLM`. */
export function toConfigJson(config: LlamaConfig, torchDtype = 'float32'): Record<string, unknown> {
  return { architectures: ['LlamaForCausalLM'], model_type: 'llama', ...config, torch_dtype: torchDtype };
}

/** Writes `config.json` atomically (temp file + rename). */
export async function writeConfigJson(
  path: string,
  config: LlamaConfig,
  torchDtype = 'float32',
): Promise<FileChecksum> {
  const text = `${JSON.stringify(toConfigJson(config, torchDtype), null, 2)}\n`;
  await writeFileAtomic(path, text);
  return checksumOf(text);
}
