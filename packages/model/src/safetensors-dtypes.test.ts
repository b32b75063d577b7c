import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { f32ToBf16, f32ToF16 } from './half.js';
import { CheckpointError, openSafetensors, readSafetensors, writeSafetensors } from './index.js';

// Golden file written by hand from the spec with numpy/PyTorch: test/fixtures/mixed-dtypes/generate.py.
const DIR = join(import.meta.dirname, '..', 'test', 'fixtures', 'mixed-dtypes');
type Golden = Record<
  string,
  {
    dtype: string;
    shape: number[];
    values: (number | string | boolean)[];
    input?: (number | string)[];
    bits?: number[];
  }
>;
const golden = JSON.parse(readFileSync(join(DIR, 'mixed.json'), 'utf8')) as Golden;
const FILE = join(DIR, 'mixed.safetensors');

/** The golden value as JS sees it: strings are non-finite floats or integers beyond 2^53. */
function value(v: number | string | boolean, dtype: string): number | bigint | boolean {
  if (dtype === 'I64' || dtype === 'U64') return BigInt(v as number | string);
  return typeof v === 'string' ? Number(v) : v;
}

describe('safetensors dtypes', () => {
  it('reads every dtype of a mixed file as its own type, exactly (golden from numpy/PyTorch)', async () => {
    // finiteness is checked on foreign floats by default; this file holds Inf/NaN on purpose
    const file = await openSafetensors(FILE, { checkFinite: 'never' });
    try {
      expect(file.verification).toBe('none'); // a foreign file: no checksums
      expect([...file.entries.keys()].sort()).toEqual(Object.keys(golden).sort());
      for (const [name, g] of Object.entries(golden)) {
        const t = await file.readTyped(name);
        expect(t.dtype, name).toBe(g.dtype);
        expect(t.shape, name).toEqual(g.shape);
        const want = g.values.map((v) => value(v, g.dtype));
        const got = Array.from(t.data as ArrayLike<number | bigint>);
        if (g.dtype === 'BOOL') expect(got.map((v) => v === 1)).toEqual(want);
        else expect(got, name).toEqual(want);
        const ctor =
          {
            F64: Float64Array,
            I64: BigInt64Array,
            U64: BigUint64Array,
            I32: Int32Array,
            U32: Uint32Array,
            I16: Int16Array,
            U16: Uint16Array,
            I8: Int8Array,
            U8: Uint8Array,
            BOOL: Uint8Array,
          }[g.dtype] ?? Float32Array;
        expect(t.data, name).toBeInstanceOf(ctor);
      }
    } finally {
      await file.close();
    }
  });

  it('reads the float tensors of a file that also holds integers and bool (HF buffers)', async () => {
    const { tensors } = await readSafetensors(FILE, ['f32', 'bf16', 'f8_e4m3'], { checkFinite: 'never' });
    expect(Array.from(tensors.get('f32')!.data)).toEqual(golden.f32!.values);
    expect(tensors.get('bf16')!.data).toBeInstanceOf(Float32Array);
    // F64 narrows to float32 on read(), with a range check: 1e300 does not fit
    const file = await openSafetensors(FILE, { checkFinite: 'never' });
    await expect(file.read('f64')).rejects.toThrow(/1e\+300 at 2, beyond the float32 range/);
    await expect(file.read('i64')).rejects.toThrow(
      /is I64, not a floating-point tensor: read it with readTyped/,
    );
    // I64 → Int32Array only when every value fits
    const small = await file.readTyped('i64_small', { int64: 'int32' });
    expect(small.data).toBeInstanceOf(Int32Array);
    expect(Array.from(small.data as Int32Array)).toEqual([7, -2147483648, 2147483647]);
    await expect(file.readTyped('i64', { int64: 'int32' })).rejects.toThrow(
      /1099511627779 at 2, outside the int32 range/,
    );
    await file.close();
  });

  it('encodes F16 and BF16 to the same bits as PyTorch, ties to even', () => {
    for (const [name, enc] of [
      ['f16', f32ToF16],
      ['bf16', f32ToBf16],
    ] as const) {
      const g = golden[name]!;
      const input = Float32Array.from(g.input!.map(Number));
      expect(
        Array.from(input, (v) => enc(v)),
        name,
      ).toEqual(g.bits);
    }
  });

  it('round-trips every writable dtype and refuses silent conversions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'st-dt-'));
    const path = join(dir, 'all.safetensors');
    const tensors = {
      f64: { shape: [2], data: Float64Array.of(0.1, -1e300) },
      f32: { shape: [2], data: Float32Array.of(1.5, -2) },
      bf16: { shape: [2], data: Float32Array.of(1.00390625, 3), dtype: 'BF16' as const },
      f16: { shape: [2], data: Float64Array.of(0.5, 65520), dtype: 'F16' as const },
      i64: { shape: [2], data: BigInt64Array.of(-(2n ** 62n), 5n) },
      u64: { shape: [1], data: BigUint64Array.of(2n ** 64n - 1n) },
      i32: { shape: [1], data: Int32Array.of(-7) },
      u32: { shape: [1], data: Uint32Array.of(4e9) },
      i16: { shape: [1], data: Int16Array.of(-300) },
      u16: { shape: [1], data: Uint16Array.of(60000) },
      i8: { shape: [1], data: Int8Array.of(-1) },
      u8: { shape: [1], data: Uint8Array.of(200) },
      mask: { shape: [3], data: Uint8Array.of(1, 0, 1), dtype: 'BOOL' as const },
    };
    await writeSafetensors(path, tensors);
    const file = await openSafetensors(path);
    expect(file.verification).toBe('tensors');
    const dtypes = Object.fromEntries([...file.entries].map(([k, e]) => [k, e.dtype]));
    expect(dtypes).toEqual({
      f64: 'F64',
      f32: 'F32',
      bf16: 'BF16',
      f16: 'F16',
      i64: 'I64',
      u64: 'U64',
      i32: 'I32',
      u32: 'U32',
      i16: 'I16',
      u16: 'U16',
      i8: 'I8',
      u8: 'U8',
      mask: 'BOOL',
    });
    expect(Array.from((await file.readTyped('f64')).data as Float64Array)).toEqual([0.1, -1e300]);
    expect(Array.from((await file.readTyped('i64')).data as BigInt64Array)).toEqual([-(2n ** 62n), 5n]);
    expect(Array.from((await file.readTyped('u64')).data as BigUint64Array)).toEqual([2n ** 64n - 1n]);
    expect(Array.from((await file.readTyped('bf16')).data as Float32Array)).toEqual([1, 3]);
    expect(Array.from((await file.readTyped('f16')).data as Float32Array)).toEqual([
      0.5,
      Number.POSITIVE_INFINITY,
    ]);
    expect(Array.from((await file.readTyped('mask')).data as Uint8Array)).toEqual([1, 0, 1]);
    await file.close();
    const bad = [
      { shape: [1], data: Int32Array.of(1), dtype: 'F32' as const },
      { shape: [1], data: Float32Array.of(1), dtype: 'I32' as const },
      { shape: [1], data: Uint8Array.of(2), dtype: 'BOOL' as const },
      { shape: [1], data: Float32Array.of(1), dtype: 'F8_E4M3' as const },
    ];
    for (const t of bad) {
      const err = await writeSafetensors(join(dir, 'bad.safetensors'), { t }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as Error).message).toMatch(/cannot be stored as/);
    }
  });
});
