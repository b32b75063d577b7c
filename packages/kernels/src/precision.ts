// Matmul precision of the native backend (PyTorch CPU `torch.autocast(dtype=torch.bfloat16)` for the products only):
// 'bf16' rounds both operands of the matrix products of the native kernels (BatchMatMul, _FusedMatMul, LoRA linear,
// linear cross-entropy: every tf.matMul of a training step, forward and backward) to bfloat16 and sums in fp32
// (native/bf16-gemm.cc). Weights, optimizer state, norms, softmax and loss stay fp32, and so does every tensor
// (outputs are fp32, never rounded to bf16). The fused attention's small per-block products stay fp32 (bf16 does not
// pay there), and so do the r-wide adapter products of loraLinear's backward pass for r ≤ 64 (native/lora.cc).
import { loadAddon } from './addon.js';
import { resolveKernelsConfig } from './config.js';
import { ConfigError } from './errors.js';

export type MatmulPrecision = 'fp32' | 'bf16';

export const MATMUL_PRECISIONS: readonly MatmulPrecision[] = ['fp32', 'bf16'];

let current: MatmulPrecision = 'fp32';

function addon() {
  return loadAddon(resolveKernelsConfig({ notice: false })).addon;
}

/** Whether the addon is loaded and this CPU runs its bf16 products (AVX-512 BF16, `avx512_bf16` in /proc/cpuinfo). */
export function bf16Supported(): boolean {
  return addon()?.bf16Supported?.() ?? false;
}

/** The precision the native products run in now. */
export function getMatmulPrecision(): MatmulPrecision {
  return current;
}

/**
 * Sets the precision of every product of the native kernels for this process and returns the one in effect: 'bf16'
 * falls back to 'fp32' (with one warning line) where the addon is not loaded or the CPU lacks AVX-512 BF16.
 * Backends other than native are unaffected (their products stay fp32). Throws a ConfigError for an unknown value.
 */
export function setMatmulPrecision(
  precision: MatmulPrecision,
  warn: (line: string) => void = console.warn,
): MatmulPrecision {
  if (!MATMUL_PRECISIONS.includes(precision)) {
    throw new ConfigError(
      `matmul precision must be 'fp32' or 'bf16', found '${String(precision)}'`,
      'precision',
    );
  }
  const a = addon();
  if (precision === 'bf16' && !(a?.bf16Supported?.() ?? false)) {
    warn(
      a === null
        ? '@loralab/kernels: bf16 matmuls need the native addon, which is not loaded; products stay fp32.'
        : '@loralab/kernels: this CPU lacks AVX-512 BF16 (avx512_bf16); bf16 matmuls fall back to fp32 sgemm.',
    );
  }
  current = a?.setMatmulPrecision?.(precision === 'bf16') ? 'bf16' : 'fp32';
  return current;
}
