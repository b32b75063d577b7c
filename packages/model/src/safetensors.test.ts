import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './half.js';
import { CheckpointError, openSafetensors, readSafetensors, writeSafetensors } from './index.js';

const FIXTURES = join(import.meta.dirname, '..', 'test', 'fixtures');

async function tmp() {
  return mkdtemp(join(tmpdir(), 'st-'));
}

function rawFile(header: object, dataBytes: number): Buffer {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, Buffer.alloc(dataBytes)]);
}

describe('safetensors', () => {
  it('decodes F16 and BF16 exactly as PyTorch encodes them', async () => {
    // non-finite values are stored as strings ('Infinity') since JSON has no literal for them
    const raw = JSON.parse(readFileSync(join(FIXTURES, 'dtypes.json'), 'utf8')) as Record<
      string,
      (number | string)[]
    >;
    const ref = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.map(Number)])) as Record<
      string,
      number[]
    >;
    expect(ref.half).toContain(Number.POSITIVE_INFINITY);
    const { tensors } = await readSafetensors(join(FIXTURES, 'dtypes.safetensors'));
    expect(tensors.get('half')!.dtype).toBe('F16');
    expect(tensors.get('half')!.shape).toEqual([2, 8]);
    expect(Array.from(tensors.get('half')!.data)).toEqual(ref.half);
    expect(Array.from(tensors.get('bfloat')!.data)).toEqual(ref.bfloat);
    // and encodes them to the same bits (round to nearest even)
    const f32 = Float32Array.from(ref.input!);
    expect(Array.from(f32, (v) => f16ToF32(f32ToF16(v)))).toEqual(ref.half);
    expect(Array.from(f32, (v) => bf16ToF32(f32ToBf16(v)))).toEqual(ref.bfloat);
  });

  it('round-trips F32, F16 and BF16 with metadata, atomically', async () => {
    const dir = await tmp();
    const path = join(dir, 'a.safetensors');
    const a = Float32Array.from({ length: 12 }, (_, i) => i / 7 - 0.5);
    await writeSafetensors(
      path,
      {
        'w.f32': { shape: [3, 4], data: a },
        'w.f16': { shape: [12], data: a, dtype: 'F16' },
        'w.bf16': { shape: [2, 6], data: a, dtype: 'BF16' },
      },
      { format: 'pt', note: 'x' },
    );
    expect(await readdir(dir)).toEqual(['a.safetensors']); // no temporary file left
    const bytes = await readFile(path);
    expect(Number(bytes.readBigUInt64LE(0)) % 8).toBe(0);
    const { tensors, metadata } = await readSafetensors(path);
    expect(metadata).toEqual({ format: 'pt', note: 'x' });
    expect(Array.from(tensors.get('w.f32')!.data)).toEqual(Array.from(a));
    expect(tensors.get('w.bf16')!.shape).toEqual([2, 6]);
    for (const [k, tol] of [
      ['w.f16', 1e-3],
      ['w.bf16', 4e-3],
    ] as const) {
      const d = tensors.get(k)!.data;
      for (let i = 0; i < a.length; i++) expect(Math.abs(d[i]! - a[i]!)).toBeLessThan(tol);
    }
    const file = await openSafetensors(path);
    expect([...file.entries.keys()].sort()).toEqual(['w.bf16', 'w.f16', 'w.f32']);
    await file.close();
  });

  it('rejects malformed files with a CheckpointError naming the problem', async () => {
    const dir = await tmp();
    const cases: [string, Buffer, RegExp][] = [
      ['short', Buffer.alloc(4), /too short/],
      [
        'hugeheader',
        (() => {
          const b = Buffer.alloc(16);
          b.writeBigUInt64LE(1000n);
          return b;
        })(),
        /header length 1000 exceeds/,
      ],
      [
        'json',
        (() => {
          const h = Buffer.from('{nope');
          const l = Buffer.alloc(8);
          l.writeBigUInt64LE(BigInt(h.length));
          return Buffer.concat([l, h]);
        })(),
        /not valid JSON/,
      ],
      [
        'dtype',
        rawFile({ a: { dtype: 'X64', shape: [1], data_offsets: [0, 8] } }, 8),
        /"X64", not a safetensors dtype/,
      ],
      ['span', rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /needs 12/],
      ['truncated', rawFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), /past the file/],
      [
        'overlap',
        rawFile(
          {
            a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
            b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
          },
          12,
        ),
        /overlap or gap/,
      ],
      [
        'extra',
        rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8),
        /cover 4 data bytes but the file holds 8/,
      ],
    ];
    for (const [name, bytes, re] of cases) {
      const p = join(dir, `${name}.safetensors`);
      await writeFile(p, bytes);
      const err = await readSafetensors(p).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(CheckpointError);
      expect((err as Error).message, name).toMatch(re);
    }
  });
});
