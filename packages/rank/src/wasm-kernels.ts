// The O(n³) inner loops of the SVD as WebAssembly SIMD kernels (f64x2), assembled here from opcodes so that
// no toolchain or binary blob is needed: `sweep`, the fused pass of one Householder bidiagonalisation step
// (bidiagonalize.ts); `reflect`, one Householder reflector applied from the right to a block of rows (forming
// Qᵀ and Pᵀ, svd.ts); and `chain`, one QR sweep's chain of plane rotations applied to the singular vectors
// (bidiagonal-qr.ts). Everything O(m + n) per step stays in TypeScript.
//
// WebAssembly text of the exported functions (what the bytes encode; bodies in wasm-householder.ts and
// wasm-rotations.ts, encoder in wasm-encoding.ts):
//   (func $sweep (param $a i32) (param $n i32) (param $k i32) (param $m i32) (param $w i32) (param $u i32)
//                (param $z i32) (param $tq f64) (param $tp f64)
//     ;; for i = k+1 … m−1, row = &a[i][k+1], L = n−k−1, lv = tq · a[i][k]:
//     ;;   s = Σ_j (row[j] ← row[j] − lv·w[j]) · u[j]             (left update + dot with u)
//     ;;   t = tp · s
//     ;;   i = k+1:  row[j] ← row[j] − t·u[j]                      (right update)
//     ;;   i > k+1:  xi = row[0] − t; row[j] ← row[j] − t·u[j]; z[j] += xi · row[j]   (… + next left product)
//     ;; pairs of doubles with f64x2, a scalar tail when L is odd)
//   (func $reflect — sweep's signature; for i = k+1 … m−1: row[j] ← row[j] − tp · (row · u) · u[j], j ≥ 0;
//     ;; X ← X (I − tp u uᵀ) on that block, used to form Qᵀ and Pᵀ; w, z and tq unused)
//   (func $chain (param $x i32) (param $cols i32) (param $l i32) (param $k i32) (param $c i32) (param $s i32)
//                (param $col0 i32) (param $col1 i32)
//     ;; rows l…k of the row-major x (cols wide) hold singular vectors; for j = l…k−1, on columns col0…col1−1:
//     ;;   [row_j, row_{j+1}] ← [c_j row_j + s_j row_{j+1}, c_j row_{j+1} − s_j row_j]
//     ;; done 8 columns at a time (4 × f64x2) walking down the rows with the rotated row in registers,
//     ;; so each element is loaded and stored once per chain (col1 − col0 must be a multiple of 8).
// The memory is imported ("env", "memory"), so the caller lays the matrices and vectors out in it.
import { code, F64, I32, section, str, uleb, type WasmMemory, wasmApi } from './wasm-encoding.js';
import { LOCALS, reflectBody, sweepBody } from './wasm-householder.js';
import { CHAIN_LOCALS, chainBody } from './wasm-rotations.js';

/**
 * The module's bytes: functions `sweep`, `chain` and `reflect`, memory imported from `env.memory` (a shared
 * memory of at most 4 GiB when `shared`, so that worker threads can run kernels on the same matrix).
 */
export function kernelModuleBytes(shared = false): Uint8Array {
  const memoryType = shared ? [0x03, 0x00, ...uleb(65536)] : [0x00, 0x00];
  const sweepType = [0x60, ...uleb(9), I32, I32, I32, I32, I32, I32, I32, F64, F64, 0];
  const chainType = [0x60, ...uleb(8), I32, I32, I32, I32, I32, I32, I32, I32, 0];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [2, ...sweepType, ...chainType]),
    ...section(2, [1, ...str('env'), ...str('memory'), 0x02, ...memoryType]),
    ...section(3, [3, 0, 1, 0]),
    ...section(7, [3, ...str('sweep'), 0x00, 0, ...str('chain'), 0x00, 1, ...str('reflect'), 0x00, 2]),
    ...section(10, [
      3,
      ...code(LOCALS, sweepBody()),
      ...code(CHAIN_LOCALS, chainBody()),
      ...code(LOCALS, reflectBody()),
    ]),
  ];
  return new Uint8Array(bytes);
}

/** The sweep over rows k+1…m−1 of step k; pointers are byte offsets into the memory. */
export type SweepFn = (
  a: number,
  n: number,
  k: number,
  m: number,
  w: number,
  u: number,
  z: number,
  tq: number,
  tp: number,
) => void;
/** The rotation chain over rows l…k of x (cols wide), columns col0…col1−1 (col1 − col0 a multiple of 8); pointers are byte offsets. */
export type ChainFn = (
  x: number,
  cols: number,
  l: number,
  k: number,
  c: number,
  s: number,
  col0: number,
  col1: number,
) => void;

const compiled = new Map<boolean, object | null>();

/** The compiled module (shared-memory variant when `shared`), or null where WebAssembly SIMD is unavailable. */
export function kernelModule(shared = false): object | null {
  if (!compiled.has(shared)) {
    try {
      const bytes = kernelModuleBytes(shared);
      compiled.set(shared, wasmApi?.validate(bytes) ? new wasmApi.Module(bytes) : null);
    } catch {
      compiled.set(shared, null);
    }
  }
  return compiled.get(shared) ?? null;
}

/** WebAssembly kernels bound to a fresh memory of at least `bytes` bytes. */
export interface WasmKernels {
  /** The compiled module (to instantiate again on `memory` in a worker thread when shared). */
  module: object;
  memory: WasmMemory;
  sweep: SweepFn;
  chain: ChainFn;
  /** X ← X (I − tp u uᵀ) on rows k+1…m−1 and columns k+1…n−1 of x (stride n); w, z and tq are ignored. */
  reflect: SweepFn;
}

/**
 * A WebAssembly memory of at least `bytes` bytes (a SharedArrayBuffer when `shared`) and the kernels bound
 * to it, or null without SIMD support (or shared memory, when asked for).
 */
export function createWasmKernels(bytes: number, shared = false): WasmKernels | null {
  const mod = kernelModule(shared);
  if (!mod || !wasmApi) return null;
  const pages = Math.ceil(bytes / 65536) + 1;
  if (pages > 65536) return null; // past the 4 GiB of wasm32
  let memory: WasmMemory;
  try {
    memory = new wasmApi.Memory(
      shared ? { initial: pages, maximum: pages, shared: true } : { initial: pages },
    );
  } catch {
    return null;
  }
  const instance = new wasmApi.Instance(mod, { env: { memory } });
  return {
    module: mod,
    memory,
    sweep: instance.exports.sweep as SweepFn,
    chain: instance.exports.chain as ChainFn,
    reflect: instance.exports.reflect as SweepFn,
  };
}
