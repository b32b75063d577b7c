// The dtypes of the safetensors format (huggingface/safetensors, `Dtype`): byte sizes, decoding to JavaScript typed
// arrays and encoding from them. Little-endian throughout, as the format prescribes.
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './half.js';

/** Every dtype of the format that this package reads (the sub-byte F4/F6 and C64 are listed but not decoded). */
export type SafetensorsDtype =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'F8_E5M2'
  | 'F8_E4M3'
  | 'F8_E8M0'
  | 'I16'
  | 'U16'
  | 'F16'
  | 'BF16'
  | 'I32'
  | 'U32'
  | 'F32'
  | 'F64'
  | 'I64'
  | 'U64';

/** The typed array a dtype is read into by `readTyped` (F16/BF16/F8 have no JavaScript type: Float32Array). */
export type SafetensorsArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Bytes per element of each decodable dtype. */
export const DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** Dtypes of the format that are recognised but not decoded (packed sub-byte floats, complex). */
export const UNDECODED_DTYPES = ['F4', 'F6_E2M3', 'F6_E3M2', 'C64'] as const;

/** Floating-point dtypes: values are numbers, checked for finiteness when a file carries no checksums. */
export const FLOAT_DTYPES: ReadonlySet<SafetensorsDtype> = new Set([
  'F8_E5M2',
  'F8_E4M3',
  'F8_E8M0',
  'F16',
  'BF16',
  'F32',
  'F64',
]);

export function isDtype(d: unknown): d is SafetensorsDtype {
  return typeof d === 'string' && Object.hasOwn(DTYPE_BYTES, d);
}

/** float8 e4m3fn bits -> value: bias 7, 3 mantissa bits, no infinities, S.1111.111 is NaN (max ±448). */
export function f8e4m3ToF32(b: number): number {
  const sign = b & 0x80 ? -1 : 1;
  const exp = (b >> 3) & 0xf;
  const mant = b & 0x7;
  if (exp === 0xf && mant === 0x7) return Number.NaN;
  if (exp === 0) return sign * mant * 2 ** -9; // subnormal: mant/8 · 2^(1−7)
  return sign * (1 + mant / 8) * 2 ** (exp - 7);
}

/** float8 e5m2 bits -> value: the top byte of an IEEE half, so infinities and NaN as in F16. */
export function f8e5m2ToF32(b: number): number {
  return f16ToF32(b << 8);
}

/** float8 e8m0 (OCP MX scale) bits -> 2^(b−127); 0xFF is NaN. */
export function f8e8m0ToF32(b: number): number {
  return b === 0xff ? Number.NaN : 2 ** (b - 127);
}

/** A typed array of `Ctor` over `bytes`: a view when they are aligned (the reader's own buffer), else a copy. */
function aligned<T>(
  bytes: Uint8Array,
  Ctor: { new (b: ArrayBuffer, offset: number, length: number): T; BYTES_PER_ELEMENT: number },
): T {
  const size = Ctor.BYTES_PER_ELEMENT;
  if (bytes.byteOffset % size === 0) {
    return new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / size);
  }
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Ctor(copy.buffer, 0, bytes.byteLength / size);
}

/**
 * Decodes the raw little-endian bytes of `n` elements into the dtype's own typed array (BOOL: Uint8Array of 0/1;
 * F16, BF16 and F8 widened exactly to Float32Array). Aligned input is viewed, not copied.
 */
export function decodeNative(bytes: Uint8Array, dtype: SafetensorsDtype, n: number): SafetensorsArray {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32':
      return aligned(bytes, Float32Array);
    case 'F64':
      return aligned(bytes, Float64Array);
    case 'I64':
      return aligned(bytes, BigInt64Array);
    case 'U64':
      return aligned(bytes, BigUint64Array);
    case 'I32':
      return aligned(bytes, Int32Array);
    case 'U32':
      return aligned(bytes, Uint32Array);
    case 'I16':
      return aligned(bytes, Int16Array);
    case 'U16':
      return aligned(bytes, Uint16Array);
    case 'I8':
      return aligned(bytes, Int8Array);
    case 'U8':
    case 'BOOL':
      return aligned(bytes, Uint8Array);
    case 'F16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = f16ToF32(view.getUint16(2 * i, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = bf16ToF32(view.getUint16(2 * i, true));
      return out;
    }
    case 'F8_E4M3':
    case 'F8_E5M2':
    case 'F8_E8M0': {
      const f = dtype === 'F8_E4M3' ? f8e4m3ToF32 : dtype === 'F8_E5M2' ? f8e5m2ToF32 : f8e8m0ToF32;
      const table = Float32Array.from({ length: 256 }, (_, b) => f(b));
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[bytes[i]!]!;
      return out;
    }
    default: {
      const never: never = dtype;
      throw new Error(`unhandled dtype ${never as string}`);
    }
  }
}

/** Storage dtypes of model and adapter weights (what `savePretrained`/`saveAdapter` write). */
export type WeightDtype = 'F32' | 'F16' | 'BF16';

/**
 * Encodes `data` as `dtype`'s little-endian bytes. Float dtypes take any numeric array (F16/BF16 round to nearest
 * even as PyTorch does); integer dtypes and BOOL take the matching typed array (BigInt64Array for I64, ...), so no
 * value is silently converted. Returns null when `data` cannot be stored as `dtype` without conversion.
 */
export function encodeNative(data: SafetensorsArray, dtype: SafetensorsDtype): Uint8Array | null {
  const raw = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const isFloatArray = data instanceof Float32Array || data instanceof Float64Array;
  switch (dtype) {
    case 'F32':
      if (data instanceof Float32Array) return raw(data);
      return isFloatArray ? raw(Float32Array.from(data as Float64Array)) : null;
    case 'F64':
      if (data instanceof Float64Array) return raw(data);
      return isFloatArray ? raw(Float64Array.from(data as Float32Array)) : null;
    case 'F16':
    case 'BF16': {
      if (!isFloatArray) return null;
      const out = new Uint8Array(data.length * 2);
      const view = new DataView(out.buffer);
      const conv = dtype === 'F16' ? f32ToF16 : f32ToBf16;
      for (let i = 0; i < data.length; i++) view.setUint16(2 * i, conv(data[i] as number), true);
      return out;
    }
    case 'I64':
      return data instanceof BigInt64Array ? raw(data) : null;
    case 'U64':
      return data instanceof BigUint64Array ? raw(data) : null;
    case 'I32':
      return data instanceof Int32Array ? raw(data) : null;
    case 'U32':
      return data instanceof Uint32Array ? raw(data) : null;
    case 'I16':
      return data instanceof Int16Array ? raw(data) : null;
    case 'U16':
      return data instanceof Uint16Array ? raw(data) : null;
    case 'I8':
      return data instanceof Int8Array ? raw(data) : null;
    case 'U8':
      return data instanceof Uint8Array ? raw(data) : null;
    case 'BOOL':
      return data instanceof Uint8Array && data.every((v) => v <= 1) ? raw(data) : null;
    default:
      return null; // F8 formats: read only
  }
}
