// PiSSA -> LoRA conversion on save (PEFT: `save_pretrained(path_initial_model_for_weight_conversion=...)`,
// `LoraModel.subtract_mutated_init`). A PiSSA adapter lives on the residual base W_res = W − s·B₀·A₀; to apply it to
// the original W, save the difference of the trained and the initial update as a plain LoRA adapter of rank 2r:
//   A' = [A; A₀]  (2r, in),   B' = [B, −B₀]  (out, 2r),   α' = 2α (rsLoRA: √2·α),  so  s' = s  and
//   W + s'·B'·A' = W_res + s·B₀·A₀ + s·(B·A − B₀·A₀) = W_res + s·B·A.
import { CheckpointError, ConfigError, type TensorToWrite } from '@loralab/model';
import type { LoraConfig } from './config.js';

/** The config of the converted adapter: r, α and the patterns doubled (α by √2 with rsLoRA), init `true`. */
export function pissaConvertedConfig(config: LoraConfig): LoraConfig {
  const hasPatterns = Object.keys(config.rank_pattern).length + Object.keys(config.alpha_pattern).length > 0;
  if (config.use_rslora && hasPatterns) {
    throw new ConfigError(
      'PiSSA conversion is not supported with rank_pattern or alpha_pattern together with use_rslora (as in PEFT)',
      'use_rslora',
      true,
    );
  }
  if (config.use_dora) {
    throw new ConfigError(
      'PiSSA conversion of a DoRA adapter is not defined (the magnitude depends on W)',
      'use_dora',
      true,
    );
  }
  const alphaFactor = config.use_rslora ? Math.SQRT2 : 2;
  const double = (p: Record<string, number>, f: number) =>
    Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v * f]));
  return {
    ...config,
    init_lora_weights: true,
    r: config.r * 2,
    lora_alpha: config.lora_alpha * alphaFactor,
    rank_pattern: double(config.rank_pattern, 2),
    alpha_pattern: double(config.alpha_pattern, 2),
  };
}

/** A' = [A; A₀] and B' = [B, −B₀] for every module of the trained tensors; other tensors are copied. */
export function pissaConvertedTensors(
  trained: Map<string, TensorToWrite>,
  initial: Map<string, TensorToWrite>,
  initialPath: string,
): Map<string, TensorToWrite> {
  const out = new Map<string, TensorToWrite>();
  for (const [key, t] of trained) {
    const isA = key.endsWith('.lora_A.weight');
    const isB = key.endsWith('.lora_B.weight');
    if (!isA && !isB) {
      out.set(key, t);
      continue;
    }
    const t0 = initial.get(key);
    if (t0 === undefined || JSON.stringify(t0.shape) !== JSON.stringify(t.shape)) {
      throw new CheckpointError(
        `${initialPath}: the initial adapter has ${t0 ? `shape ${JSON.stringify(t0.shape)}` : 'no tensor'} for '${key}', expected ${JSON.stringify(t.shape)}`,
        initialPath,
        key,
      );
    }
    const [rows, cols] = t.shape as [number, number];
    if (isA) {
      // (2r, in): the trained rows, then the initial ones
      const data = new Float32Array(2 * rows * cols);
      data.set(t.data, 0);
      data.set(t0.data, rows * cols);
      out.set(key, { shape: [2 * rows, cols], data });
    } else {
      // (out, 2r): per output row, the trained columns, then the negated initial ones
      const data = new Float32Array(rows * 2 * cols);
      for (let o = 0; o < rows; o++) {
        for (let j = 0; j < cols; j++) {
          data[o * 2 * cols + j] = t.data[o * cols + j]!;
          data[o * 2 * cols + cols + j] = -t0.data[o * cols + j]!;
        }
      }
      out.set(key, { shape: [rows, 2 * cols], data });
    }
  }
  return out;
}
