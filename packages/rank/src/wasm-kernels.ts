// The O(n³) inner loops of the SVD as WebAssembly SIMD kernels (f64x2), assembled here from opcodes so that
// no toolchain or binary blob is needed: `sweep`, the fused pass of one Householder bidiagonalisation step
// (bidiagonalize.ts); `reflect`, one Householder reflector applied from the right to a block of rows (forming
// Qᵀ and Pᵀ, svd.ts); and `chain`, one QR sweep's chain of plane rotations applied to the singular vectors
// (bidiagonal-qr.ts). Everything O(m + n) per step stays in TypeScript.
//
// WebAssembly text of the exported function (what the bytes below encode):
//   (func $sweep (param $a i32) (param $n i32) (param $k i32) (param $m i32) (param $w i32) (param $u i32)
//                (param $z i32) (param $tq f64) (param $tp f64)
//     ;; for i = k+1 … m−1, row = &a[i][k+1], L = n−k−1, lv = tq · a[i][k]:
//     ;;   s = Σ_j (row[j] ← row[j] − lv·w[j]) · u[j]             (left update + dot with u)
//     ;;   t = tp · s
//     ;;   i = k+1:  row[j] ← row[j] − t·u[j]                      (right update)
//     ;;   i > k+1:  xi = row[0] − t; row[j] ← row[j] − t·u[j]; z[j] += xi · row[j]   (… + next left product)
//     ;; pairs of doubles with f64x2, a scalar tail when L is odd)
//   (func $chain (param $x i32) (param $cols i32) (param $l i32) (param $k i32) (param $c i32) (param $s i32)
//                (param $col0 i32) (param $col1 i32)
//     ;; rows l…k of the row-major x (cols wide) hold singular vectors; for j = l…k−1, on columns col0…col1−1:
//     ;;   [row_j, row_{j+1}] ← [c_j row_j + s_j row_{j+1}, c_j row_{j+1} − s_j row_j]
//     ;; done 8 columns at a time (4 × f64x2) walking down the rows with the rotated row in registers,
//     ;; so each element is loaded and stored once per chain (col1 − col0 must be a multiple of 8).
// The memory is imported ("env", "memory"), so the caller lays the matrices and vectors out in it.

const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function str(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

// Parameters and locals, by index.
const P = { a: 0, n: 1, k: 2, m: 3, w: 4, u: 5, z: 6, tq: 7, tp: 8 } as const;
const L = {
  i: 9,
  len: 10,
  row: 11,
  j: 12,
  pairEnd: 13,
  lv: 14,
  s: 15,
  t: 16,
  xi: 17,
  xs: 18,
  vs: 19,
  vlv: 20,
  vt: 21,
  vxi: 22,
  x: 23,
} as const;
const LOCALS: [number, number][] = [
  [5, I32], // i, len, row, j, pairEnd
  [5, F64], // lv, s, t, xi, xs
  [5, V128], // vs, vlv, vt, vxi, x
];

// Opcodes.
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const i32c = (v: number) => [0x41, ...sleb(v)];
const i32add = [0x6a];
const i32sub = [0x6b];
const i32mul = [0x6c];
const i32and = [0x71];
const i32geu = [0x4f];
const i32eq = [0x46];
const f64add = [0xa0];
const f64sub = [0xa1];
const f64mul = [0xa2];
const f64load = [0x2b, 3, 0];
const f64store = [0x39, 3, 0];
const v128load = [0xfd, 0x00, 3, 0];
const v128store = [0xfd, 0x0b, 3, 0];
const v128zero = [0xfd, 0x0c, ...new Array(16).fill(0)];
const splat = [0xfd, 0x14];
const lane = (l: number) => [0xfd, 0x21, l];
const vadd = [0xfd, 0xf0, 0x01];
const vsub = [0xfd, 0xf1, 0x01];
const vmul = [0xfd, 0xf2, 0x01];
const block = [0x02, 0x40];
const loop = [0x03, 0x40];
const ifv = [0x04, 0x40];
const elsev = [0x05];
const end = [0x0b];
const br = (d: number) => [0x0c, d];
const brIf = (d: number) => [0x0d, d];

/** addr(local) + j */
const at = (base: number) => [...get(base), ...get(L.j), ...i32add];

/** for (j = 0; j < pairEnd; j += 16) { body } */
function pairLoop(body: number[]): number[] {
  return [
    ...i32c(0),
    ...set(L.j),
    ...block,
    ...loop,
    ...get(L.j),
    ...get(L.pairEnd),
    ...i32geu,
    ...brIf(1),
    ...body,
    ...get(L.j),
    ...i32c(16),
    ...i32add,
    ...set(L.j),
    ...br(0),
    ...end,
    ...end,
  ];
}

/** if (len is odd) { j = pairEnd; body } — the scalar tail. */
function tail(body: number[]): number[] {
  return [...get(L.len), ...i32c(1), ...i32and, ...ifv, ...get(L.pairEnd), ...set(L.j), ...body, ...end];
}

function sweepBody(): number[] {
  // Loop 1: x = row − lv·w; row ← x; vs += x·u
  const loop1 = pairLoop([
    ...at(L.row),
    ...at(L.row),
    ...v128load,
    ...get(L.vlv),
    ...at(P.w),
    ...v128load,
    ...vmul,
    ...vsub,
    ...[0x22, L.x], // local.tee x
    ...v128store,
    ...get(L.vs),
    ...get(L.x),
    ...at(P.u),
    ...v128load,
    ...vmul,
    ...vadd,
    ...set(L.vs),
  ]);
  const tail1 = tail([
    ...at(L.row),
    ...at(L.row),
    ...f64load,
    ...get(L.lv),
    ...at(P.w),
    ...f64load,
    ...f64mul,
    ...f64sub,
    ...[0x22, L.xs],
    ...f64store,
    ...get(L.s),
    ...get(L.xs),
    ...at(P.u),
    ...f64load,
    ...f64mul,
    ...f64add,
    ...set(L.s),
  ]);
  // Loop 2a (first row): row ← row − t·u
  const loop2a = pairLoop([
    ...at(L.row),
    ...at(L.row),
    ...v128load,
    ...get(L.vt),
    ...at(P.u),
    ...v128load,
    ...vmul,
    ...vsub,
    ...v128store,
  ]);
  const tail2a = tail([
    ...at(L.row),
    ...at(L.row),
    ...f64load,
    ...get(L.t),
    ...at(P.u),
    ...f64load,
    ...f64mul,
    ...f64sub,
    ...f64store,
  ]);
  // Loop 2b: x = row − t·u; row ← x; z += xi·x
  const loop2b = pairLoop([
    ...at(L.row),
    ...at(L.row),
    ...v128load,
    ...get(L.vt),
    ...at(P.u),
    ...v128load,
    ...vmul,
    ...vsub,
    ...[0x22, L.x],
    ...v128store,
    ...at(P.z),
    ...at(P.z),
    ...v128load,
    ...get(L.vxi),
    ...get(L.x),
    ...vmul,
    ...vadd,
    ...v128store,
  ]);
  const tail2b = tail([
    ...at(L.row),
    ...at(L.row),
    ...f64load,
    ...get(L.t),
    ...at(P.u),
    ...f64load,
    ...f64mul,
    ...f64sub,
    ...[0x22, L.xs],
    ...f64store,
    ...at(P.z),
    ...at(P.z),
    ...f64load,
    ...get(L.xi),
    ...get(L.xs),
    ...f64mul,
    ...f64add,
    ...f64store,
  ]);
  return [
    // len = n − k − 1; pairEnd = (len & ~1) · 8; i = k + 1
    ...get(P.n),
    ...get(P.k),
    ...i32sub,
    ...i32c(1),
    ...i32sub,
    ...set(L.len),
    ...get(L.len),
    ...i32c(-2),
    ...i32and,
    ...i32c(8),
    ...i32mul,
    ...set(L.pairEnd),
    ...get(P.k),
    ...i32c(1),
    ...i32add,
    ...set(L.i),
    ...block,
    ...loop,
    ...get(L.i),
    ...get(P.m),
    ...i32geu,
    ...brIf(1),
    // row = a + (i·n + k + 1)·8
    ...get(P.a),
    ...get(L.i),
    ...get(P.n),
    ...i32mul,
    ...get(P.k),
    ...i32add,
    ...i32c(1),
    ...i32add,
    ...i32c(8),
    ...i32mul,
    ...i32add,
    ...set(L.row),
    // lv = tq · a[i][k] (the element just before row)
    ...get(P.tq),
    ...get(L.row),
    ...i32c(8),
    ...i32sub,
    ...f64load,
    ...f64mul,
    ...set(L.lv),
    ...get(L.lv),
    ...splat,
    ...set(L.vlv),
    ...v128zero,
    ...set(L.vs),
    ...loop1,
    ...get(L.vs),
    ...lane(0),
    ...get(L.vs),
    ...lane(1),
    ...f64add,
    ...set(L.s),
    ...tail1,
    ...get(L.s),
    ...get(P.tp),
    ...f64mul,
    ...set(L.t),
    ...get(L.t),
    ...splat,
    ...set(L.vt),
    // first row (i = k + 1) or the others
    ...get(L.i),
    ...get(P.k),
    ...i32c(1),
    ...i32add,
    ...i32eq,
    ...ifv,
    ...loop2a,
    ...tail2a,
    ...elsev,
    ...get(L.row),
    ...f64load,
    ...get(L.t),
    ...f64sub,
    ...set(L.xi),
    ...get(L.xi),
    ...splat,
    ...set(L.vxi),
    ...loop2b,
    ...tail2b,
    ...end,
    ...get(L.i),
    ...i32c(1),
    ...i32add,
    ...set(L.i),
    ...br(0),
    ...end,
    ...end,
  ];
}

/**
 * `reflect` has sweep's signature and locals: for rows i = k+1…m−1 of x (row stride n) and columns k+1…n−1,
 * row ← row − tp · (row · u) uᵀ, i.e. X ← X (I − tp u uᵀ) on that block (w, z, tq unused).
 */
function reflectBody(): number[] {
  const dot = pairLoop([
    ...get(L.vs),
    ...at(L.row),
    ...v128load,
    ...at(P.u),
    ...v128load,
    ...vmul,
    ...vadd,
    ...set(L.vs),
  ]);
  const dotTail = tail([
    ...get(L.s),
    ...at(L.row),
    ...f64load,
    ...at(P.u),
    ...f64load,
    ...f64mul,
    ...f64add,
    ...set(L.s),
  ]);
  const update = pairLoop([
    ...at(L.row),
    ...at(L.row),
    ...v128load,
    ...get(L.vt),
    ...at(P.u),
    ...v128load,
    ...vmul,
    ...vsub,
    ...v128store,
  ]);
  const updateTail = tail([
    ...at(L.row),
    ...at(L.row),
    ...f64load,
    ...get(L.t),
    ...at(P.u),
    ...f64load,
    ...f64mul,
    ...f64sub,
    ...f64store,
  ]);
  return [
    ...get(P.n),
    ...get(P.k),
    ...i32sub,
    ...i32c(1),
    ...i32sub,
    ...set(L.len),
    ...get(L.len),
    ...i32c(-2),
    ...i32and,
    ...i32c(8),
    ...i32mul,
    ...set(L.pairEnd),
    ...get(P.k),
    ...i32c(1),
    ...i32add,
    ...set(L.i),
    ...block,
    ...loop,
    ...get(L.i),
    ...get(P.m),
    ...[0x4e], // i32.ge_s
    ...brIf(1),
    ...get(P.a),
    ...get(L.i),
    ...get(P.n),
    ...i32mul,
    ...get(P.k),
    ...i32add,
    ...i32c(1),
    ...i32add,
    ...i32c(8),
    ...i32mul,
    ...i32add,
    ...set(L.row),
    ...v128zero,
    ...set(L.vs),
    ...dot,
    ...get(L.vs),
    ...lane(0),
    ...get(L.vs),
    ...lane(1),
    ...f64add,
    ...set(L.s),
    ...dotTail,
    ...get(L.s),
    ...get(P.tp),
    ...f64mul,
    ...set(L.t),
    ...get(L.t),
    ...splat,
    ...set(L.vt),
    ...update,
    ...updateTail,
    ...get(L.i),
    ...i32c(1),
    ...i32add,
    ...set(L.i),
    ...br(0),
    ...end,
    ...end,
  ];
}

// Parameters and locals of `chain`.
const C = {
  x: 0,
  cols: 1,
  l: 2,
  k: 3,
  c: 4,
  s: 5,
  col0: 6,
  col1: 7,
  rowBytes: 8,
  colB: 9,
  colEnd: 10,
  p: 11,
  q: 12,
  j: 13,
  vc: 18,
  vs: 19,
  n: 20,
} as const;
const CARRY = [14, 15, 16, 17];
const CHAIN_LOCALS: [number, number][] = [
  [6, I32], // rowBytes, colB, colEnd, p, q, j
  [7, V128], // c0…c3, vc, vs, n
];
const v128loadAt = (offset: number) => [0xfd, 0x00, 3, ...uleb(offset)];
const v128storeAt = (offset: number) => [0xfd, 0x0b, 3, ...uleb(offset)];

function chainBody(): number[] {
  const rotate = CARRY.flatMap((carry, t) => [
    // n = load(q + 16t); store(p + 16t, carry·vc + n·vs); carry = n·vc − carry·vs
    ...get(C.q),
    ...v128loadAt(16 * t),
    ...set(C.n),
    ...get(C.p),
    ...get(carry),
    ...get(C.vc),
    ...vmul,
    ...get(C.n),
    ...get(C.vs),
    ...vmul,
    ...vadd,
    ...v128storeAt(16 * t),
    ...get(C.n),
    ...get(C.vc),
    ...vmul,
    ...get(carry),
    ...get(C.vs),
    ...vmul,
    ...vsub,
    ...set(carry),
  ]);
  const coefficient = (ptr: number) => [
    ...get(ptr),
    ...get(C.j),
    ...i32c(8),
    ...i32mul,
    ...i32add,
    ...f64load,
    ...splat,
  ];
  return [
    ...get(C.cols),
    ...i32c(8),
    ...i32mul,
    ...set(C.rowBytes),
    ...get(C.col1),
    ...i32c(8),
    ...i32mul,
    ...set(C.colEnd),
    ...get(C.col0),
    ...i32c(8),
    ...i32mul,
    ...set(C.colB),
    ...block,
    ...loop,
    ...get(C.colB),
    ...get(C.colEnd),
    ...i32geu,
    ...brIf(1),
    // p = x + l·rowBytes + colB; carries = row l
    ...get(C.x),
    ...get(C.l),
    ...get(C.rowBytes),
    ...i32mul,
    ...i32add,
    ...get(C.colB),
    ...i32add,
    ...set(C.p),
    ...CARRY.flatMap((carry, t) => [...get(C.p), ...v128loadAt(16 * t), ...set(carry)]),
    ...get(C.l),
    ...set(C.j),
    ...block,
    ...loop,
    ...get(C.j),
    ...get(C.k),
    ...[0x4e], // i32.ge_s
    ...brIf(1),
    ...get(C.p),
    ...get(C.rowBytes),
    ...i32add,
    ...set(C.q),
    ...coefficient(C.c),
    ...set(C.vc),
    ...coefficient(C.s),
    ...set(C.vs),
    ...rotate,
    ...get(C.q),
    ...set(C.p),
    ...get(C.j),
    ...i32c(1),
    ...i32add,
    ...set(C.j),
    ...br(0),
    ...end,
    ...end,
    ...CARRY.flatMap((carry, t) => [...get(C.p), ...get(carry), ...v128storeAt(16 * t)]),
    ...get(C.colB),
    ...i32c(64),
    ...i32add,
    ...set(C.colB),
    ...br(0),
    ...end,
    ...end,
  ];
}

function code(locals: [number, number][], body: number[]): number[] {
  const bytes = [
    ...uleb(locals.length),
    ...locals.flatMap(([count, t]) => [...uleb(count), t]),
    ...body,
    ...end,
  ];
  return [...uleb(bytes.length), ...bytes];
}

/** The module's bytes: functions `sweep`, `chain` and `reflect`, memory imported from `env.memory`. */
export function kernelModuleBytes(): Uint8Array {
  const sweepType = [0x60, ...uleb(9), I32, I32, I32, I32, I32, I32, I32, F64, F64, 0];
  const chainType = [0x60, ...uleb(8), I32, I32, I32, I32, I32, I32, I32, I32, 0];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [2, ...sweepType, ...chainType]),
    ...section(2, [1, ...str('env'), ...str('memory'), 0x02, 0x00, 0x00]),
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

// The part of the WebAssembly JS API used here (the project's TypeScript lib has no DOM/WebAssembly types).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Instance: new (
    module: object,
    imports: Record<string, Record<string, unknown>>,
  ) => { exports: Record<string, unknown> };
}
const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: object | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is unavailable (then the TypeScript loop is used). */
export function kernelModule(): object | null {
  if (compiled === undefined) {
    try {
      const bytes = kernelModuleBytes();
      compiled = wasmApi?.validate(bytes) ? new wasmApi.Module(bytes) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** WebAssembly kernels bound to a fresh memory of at least `bytes` bytes. */
export interface WasmKernels {
  memory: WasmMemory;
  sweep: SweepFn;
  chain: ChainFn;
  /** X ← X (I − tp u uᵀ) on rows k+1…m−1 and columns k+1…n−1 of x (stride n); w, z and tq are ignored. */
  reflect: SweepFn;
}

/** A WebAssembly memory of at least `bytes` bytes and the kernels bound to it, or null without SIMD support. */
export function createWasmKernels(bytes: number): WasmKernels | null {
  const mod = kernelModule();
  if (!mod || !wasmApi) return null;
  const pages = Math.ceil(bytes / 65536) + 1;
  if (pages > 65536) return null; // past the 4 GiB of wasm32
  const memory = new wasmApi.Memory({ initial: pages });
  const instance = new wasmApi.Instance(mod, { env: { memory } });
  return {
    memory,
    sweep: instance.exports.sweep as SweepFn,
    chain: instance.exports.chain as ChainFn,
    reflect: instance.exports.reflect as SweepFn,
  };
}
