// Safetensors reader and writer (https://github.com/huggingface/safetensors#format): an 8-byte little-endian
// header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, __metadata__?}, then the raw data.
import { open, stat } from 'node:fs/promises';
import { CheckpointError } from './errors.js';
import { writeFileAtomic } from './fs-atomic.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './half.js';

/** The floating-point dtypes this package reads and writes. */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };
const MAX_HEADER = 100 * 1024 * 1024;

/** One decoded tensor: `data` is always float32, whatever `dtype` the file stored. */
export interface SafeTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array;
}

/** One header entry; offsets are relative to the start of the data section. */
export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** A validated, open safetensors file whose tensors are read one at a time. */
export interface SafetensorsFile {
  path: string;
  metadata: Record<string, string>;
  entries: Map<string, SafetensorsEntry>;
  /** Reads and decodes one tensor (only its bytes are read). */
  read(name: string): Promise<SafeTensor>;
  close(): Promise<void>;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Parses and validates the header: dtypes, shapes, offsets and total size (`dataBytes` = file size − 8 − N). */
function parseHeader(path: string, json: string, dataBytes: number) {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (cause) {
    throw new CheckpointError(
      `${path}: header is not valid JSON (${(cause as Error).message})`,
      path,
      undefined,
      {
        cause,
      },
    );
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CheckpointError(`${path}: header must be a JSON object`, path);
  }
  const metadata: Record<string, string> = {};
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      for (const [k, s] of Object.entries((v ?? {}) as Record<string, unknown>)) {
        if (typeof s !== 'string')
          throw new CheckpointError(`${path}: __metadata__.${k} must be a string`, path);
        metadata[k] = s;
      }
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e.dtype !== 'F32' && e.dtype !== 'F16' && e.dtype !== 'BF16') {
      throw new CheckpointError(
        `${path}: tensor '${name}' has dtype ${JSON.stringify(e.dtype)}; expected F32, F16 or BF16`,
        path,
        name,
      );
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new CheckpointError(
        `${path}: tensor '${name}' has invalid shape ${JSON.stringify(shape)}`,
        path,
        name,
      );
    }
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0)) {
      throw new CheckpointError(
        `${path}: tensor '${name}' has invalid data_offsets ${JSON.stringify(off)}`,
        path,
        name,
      );
    }
    const [begin, end] = off as [number, number];
    const want = numel(shape) * BYTES[e.dtype];
    if (end - begin !== want) {
      throw new CheckpointError(
        `${path}: tensor '${name}' spans ${end - begin} bytes; shape ${JSON.stringify(shape)} of ${e.dtype} needs ${want}`,
        path,
        name,
      );
    }
    if (end > dataBytes) {
      throw new CheckpointError(
        `${path}: tensor '${name}' ends at data byte ${end}, past the file's ${dataBytes} data bytes (truncated file?)`,
        path,
        name,
      );
    }
    entries.set(name, { dtype: e.dtype, shape: shape as number[], begin, end });
  }
  // The data section must be covered exactly, without overlaps or gaps (as the reference implementation checks).
  const sorted = [...entries].sort((a, b) => a[1].begin - b[1].begin);
  let at = 0;
  for (const [name, e] of sorted) {
    if (e.begin !== at) {
      throw new CheckpointError(
        `${path}: tensor '${name}' starts at data byte ${e.begin}, expected ${at} (overlap or gap)`,
        path,
        name,
      );
    }
    at = e.end;
  }
  if (at !== dataBytes) {
    throw new CheckpointError(
      `${path}: tensors cover ${at} data bytes but the file holds ${dataBytes}`,
      path,
    );
  }
  return { metadata, entries };
}

function decode(bytes: Uint8Array, dtype: SafetensorsDtype, n: number): Float32Array {
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F16') for (let i = 0; i < n; i++) out[i] = f16ToF32(view.getUint16(2 * i, true));
  else for (let i = 0; i < n; i++) out[i] = bf16ToF32(view.getUint16(2 * i, true));
  return out;
}

/** Opens and validates a safetensors file without reading its tensors. Throws `CheckpointError`. */
export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (cause) {
    throw new CheckpointError(`cannot open ${path}: ${(cause as Error).message}`, path, undefined, { cause });
  }
  if (size < 8)
    throw new CheckpointError(`${path}: file is ${size} bytes, too short for a safetensors header`, path);
  const fh = await open(path, 'r');
  try {
    const lenBuf = Buffer.alloc(8);
    await fh.read(lenBuf, 0, 8, 0);
    const n = Number(lenBuf.readBigUInt64LE(0));
    if (n > MAX_HEADER || 8 + n > size) {
      throw new CheckpointError(
        `${path}: header length ${n} exceeds the file size ${size} or the 100 MB limit`,
        path,
      );
    }
    const headerBuf = Buffer.alloc(n);
    await fh.read(headerBuf, 0, n, 8);
    const { metadata, entries } = parseHeader(path, headerBuf.toString('utf8'), size - 8 - n);
    const dataStart = 8 + n;
    return {
      path,
      metadata,
      entries,
      async read(name: string): Promise<SafeTensor> {
        const e = entries.get(name);
        if (!e) throw new CheckpointError(`${path}: no tensor named '${name}'`, path, name);
        const count = numel(e.shape);
        const nbytes = e.end - e.begin;
        let data: Float32Array;
        if (e.dtype === 'F32') {
          data = new Float32Array(count); // read straight into the result: one copy in memory
          await fh.read(new Uint8Array(data.buffer), 0, nbytes, dataStart + e.begin);
        } else {
          const raw = new Uint8Array(nbytes);
          await fh.read(raw, 0, nbytes, dataStart + e.begin);
          data = decode(raw, e.dtype, count);
        }
        return { dtype: e.dtype, shape: [...e.shape], data };
      },
      close: () => fh.close(),
    };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/**
 * Reads a whole safetensors file (or only `keys`), decoding F32/F16/BF16 to Float32Array.
 * Throws `CheckpointError` on a malformed header, bad offsets, unknown dtype or wrong file size.
 */
export async function readSafetensors(
  path: string,
  keys?: readonly string[],
): Promise<{ tensors: Map<string, SafeTensor>; metadata: Record<string, string> }> {
  const file = await openSafetensors(path);
  try {
    const tensors = new Map<string, SafeTensor>();
    for (const name of keys ?? [...file.entries.keys()]) tensors.set(name, await file.read(name));
    return { tensors, metadata: file.metadata };
  } finally {
    await file.close();
  }
}

/** A tensor to write: float32 data in row-major order, stored as `dtype` (default: the writer's `dtype`). */
export interface TensorToWrite {
  shape: readonly number[];
  data: Float32Array;
  dtype?: SafetensorsDtype;
}

function encode(t: TensorToWrite, dtype: SafetensorsDtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Uint8Array(t.data.length * 2);
  const view = new DataView(out.buffer);
  const conv = dtype === 'F16' ? f32ToF16 : f32ToBf16;
  for (let i = 0; i < t.data.length; i++) view.setUint16(2 * i, conv(t.data[i]!), true);
  return out;
}

/**
 * Writes tensors (sorted by name) and string metadata to `path` atomically (temp file + rename).
 * `options.dtype` (default F32) is the storage dtype of tensors that do not name their own.
 */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
  options: { dtype?: SafetensorsDtype } = {},
): Promise<void> {
  const list = (tensors instanceof Map ? [...tensors] : Object.entries(tensors)).sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0,
  );
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let at = 0;
  for (const [name, t] of list) {
    const dtype = t.dtype ?? options.dtype ?? 'F32';
    if (numel(t.shape) !== t.data.length) {
      throw new CheckpointError(
        `${path}: tensor '${name}' has ${t.data.length} values but shape ${JSON.stringify(t.shape)}`,
        path,
        name,
      );
    }
    const nbytes = t.data.length * BYTES[dtype];
    header[name] = { dtype, shape: [...t.shape], data_offsets: [at, at + nbytes] };
    at += nbytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // align the data section to 8 bytes
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  function* chunks() {
    yield len;
    yield json;
    for (const [, t] of list) yield encode(t, t.dtype ?? options.dtype ?? 'F32');
  }
  await writeFileAtomic(path, chunks());
}
