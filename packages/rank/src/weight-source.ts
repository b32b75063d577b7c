// Where the analysis reads weight matrices from: a small interface over named 2-D tensors, with an
// in-memory implementation. A safetensors-backed source lives with the checkpoint reader (@loralab/model).
import { DataError, ShapeError } from './errors.js';
import { checkMatrix, type Matrix } from './matrix.js';

/**
 * Named 2-D tensors, row-major, in the Hugging Face layout `[out_features, in_features]`
 * (`model.layers.0.self_attn.q_proj.weight`, PEFT's `…q_proj.lora_A.weight` `[r, in]`, `lora_B.weight` `[out, r]`).
 */
export interface WeightSource {
  /** Names of all tensors the source holds (any rank; the analysis picks the 2-D ones it needs). */
  names(): Promise<string[]>;
  /** The named tensor as a matrix; throws DataError when it is missing or not 2-D. */
  matrix(name: string): Promise<Matrix>;
}

/** A WeightSource over matrices already in memory (tests, or weights produced in-process). */
export function memoryWeightSource(tensors: Record<string, Matrix>): WeightSource {
  for (const [name, m] of Object.entries(tensors)) checkMatrix(m, name);
  return {
    names: async () => Object.keys(tensors),
    matrix: async (name) => {
      const m = tensors[name];
      if (!m) throw new DataError(`no tensor named "${name}"`, { file: name });
      return m;
    },
  };
}

/** The Hugging Face Llama projection modules, in the order the report lists them. */
export const LLAMA_MODULES = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
] as const;

/** `model.layers.12.mlp.up_proj.weight` → { layer: 12, block: 'mlp', module: 'up_proj', path: 'model.layers.12.mlp.up_proj' }. */
export interface ModuleName {
  layer: number;
  block: string;
  module: string;
  /** The module path without `.weight`. */
  path: string;
}

const LAYER_KEY = /^(.*\blayers\.(\d+)\.([A-Za-z_]+)\.([A-Za-z0-9_]+))\.weight$/;

/** Parses a per-layer linear weight key; null for anything else (embeddings, norms, lm_head). */
export function parseModuleName(key: string): ModuleName | null {
  const m = LAYER_KEY.exec(key);
  if (!m) return null;
  return { path: m[1]!, layer: Number(m[2]), block: m[3]!, module: m[4]! };
}

/** Checks that two matrices have the same shape (base and finetuned weights of one module). */
export function checkSameShape(a: Matrix, b: Matrix, name: string): void {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new ShapeError(
      `${name}: base and finetuned weights differ in shape`,
      `[${a.rows}, ${a.cols}]`,
      `[${b.rows}, ${b.cols}]`,
    );
  }
}
