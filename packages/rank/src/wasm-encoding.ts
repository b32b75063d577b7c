// A minimal WebAssembly binary encoder: LEB128 numbers, sections, function bodies and the opcodes the
// kernels of wasm-kernels.ts use (core spec §5, SIMD proposal for the 0xfd prefix), plus the slice of the
// WebAssembly JS API they need (the project's TypeScript lib has no DOM/WebAssembly types).

export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
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

export function str(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
}

export function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

// Opcodes.
export const get = (i: number) => [0x20, i];
export const set = (i: number) => [0x21, i];
export const i32c = (v: number) => [0x41, ...sleb(v)];
export const i32add = [0x6a];
export const i32sub = [0x6b];
export const i32mul = [0x6c];
export const i32and = [0x71];
export const i32geu = [0x4f];
export const i32eq = [0x46];
export const f64add = [0xa0];
export const f64sub = [0xa1];
export const f64mul = [0xa2];
export const f64load = [0x2b, 3, 0];
export const f64store = [0x39, 3, 0];
export const v128load = [0xfd, 0x00, 3, 0];
export const v128store = [0xfd, 0x0b, 3, 0];
export const v128zero = [0xfd, 0x0c, ...new Array(16).fill(0)];
export const splat = [0xfd, 0x14];
export const lane = (l: number) => [0xfd, 0x21, l];
export const vadd = [0xfd, 0xf0, 0x01];
export const vsub = [0xfd, 0xf1, 0x01];
export const vmul = [0xfd, 0xf2, 0x01];
export const block = [0x02, 0x40];
export const loop = [0x03, 0x40];
export const ifv = [0x04, 0x40];
export const elsev = [0x05];
export const end = [0x0b];
export const br = (d: number) => [0x0c, d];
export const brIf = (d: number) => [0x0d, d];

export const v128loadAt = (offset: number) => [0xfd, 0x00, 3, ...uleb(offset)];
export const v128storeAt = (offset: number) => [0xfd, 0x0b, 3, ...uleb(offset)];

export function code(locals: [number, number][], body: number[]): number[] {
  const bytes = [
    ...uleb(locals.length),
    ...locals.flatMap(([count, t]) => [...uleb(count), t]),
    ...body,
    ...end,
  ];
  return [...uleb(bytes.length), ...bytes];
}

// The part of the WebAssembly JS API used here (the project's TypeScript lib has no DOM/WebAssembly types).
export interface WasmMemory {
  /** An ArrayBuffer, or a SharedArrayBuffer for a shared memory. */
  readonly buffer: ArrayBuffer;
}
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Instance: new (
    module: object,
    imports: Record<string, Record<string, unknown>>,
  ) => { exports: Record<string, unknown> };
}
export const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
