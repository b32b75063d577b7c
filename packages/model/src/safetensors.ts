// Safetensors reader and writer (https://github.com/huggingface/safetensors#format): an 8-byte little-endian
// header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, __metadata__?}, then the raw data.
// Integrity: the writer records each tensor's sha256 in `__metadata__` under `sha256:<name>` (a string → string map
// that other readers ignore) and returns the whole file's checksum for the folder's `checksums.json`; the reader
// verifies both and names the file and tensor that differ. Files without a record get a finiteness check.
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { checkHeader, type FileChecksum, fileChecksum, recordedChecksum, sha256Hex } from './checksums.js';
import { CheckpointError, IntegrityError } from './errors.js';
import { writeFileAtomic } from './fs-atomic.js';
import {
  DTYPE_BYTES,
  decodeNative,
  encodeNative,
  FLOAT_DTYPES,
  isDtype,
  type SafetensorsArray,
  type SafetensorsDtype,
} from './safetensors-dtypes.js';

export type { SafetensorsArray, SafetensorsDtype, WeightDtype } from './safetensors-dtypes.js';

const MAX_HEADER = 100 * 1024 * 1024;
/** `__metadata__` key prefix of the per-tensor sha256 (hex of the tensor's stored bytes). */
export const TENSOR_SHA256_PREFIX = 'sha256:';
/** Bits per element of the format's dtypes that are validated but not decoded. */
const UNDECODED_BITS: Record<string, number> = { F4: 4, F6_E2M3: 6, F6_E3M2: 6, C64: 64 };

/** One decoded tensor as float32: `data` is Float32Array whatever floating `dtype` the file stored. */
export interface SafeTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array;
}

/** One tensor in its own JavaScript type (see `readTyped`). */
export interface TypedSafeTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: SafetensorsArray;
}

/** One header entry; offsets are relative to the start of the data section. */
export interface SafetensorsEntry {
  /** The header's dtype: one of `SafetensorsDtype`, or a dtype this reader lists but cannot decode (F4, F6_*, C64). */
  dtype: SafetensorsDtype | (string & {});
  shape: number[];
  begin: number;
  end: number;
}

/** How loading checks the bytes (every field optional; the defaults are the safe choice). */
export interface VerifyOptions {
  /** Check recorded checksums (per-tensor sha256 in `__metadata__`, the folder's `checksums.json`); default true. */
  verify?: boolean;
  /**
   * Check float tensors for NaN/±Inf (and `maxAbs`) when read: `unrecorded` (default: tensors no checksum vouches
   * for, i.e. files from other tools), `always`, or `never`.
   */
  checkFinite?: 'unrecorded' | 'always' | 'never';
  /** Plausibility bound of that check: a float value with |v| > maxAbs is an error (default Infinity: off). */
  maxAbs?: number;
}

/** How a file was verified when opened. */
export type Verification =
  /** `checksums.json` matched the header; each tensor is checked against its sha256 when read. */
  | 'header+tensors'
  /** `checksums.json` matched the whole file's sha256 (streamed at open; no per-tensor record). */
  | 'file'
  /** No `checksums.json` entry: each tensor is checked against its sha256 when read (the header is not covered). */
  | 'tensors'
  /** No record (or `verify: false`): float tensors get the finiteness check. */
  | 'none';

/** A validated, open safetensors file whose tensors are read one at a time. */
export interface SafetensorsFile {
  path: string;
  /** `__metadata__` without the per-tensor checksums. */
  metadata: Record<string, string>;
  entries: Map<string, SafetensorsEntry>;
  /** The per-tensor sha256 the header records (empty for files written by other tools). */
  tensorSha256: Map<string, string>;
  verification: Verification;
  /** Reads one tensor as float32 (F64 narrowed with a range check); integer and BOOL tensors: use `readTyped`. */
  read(name: string): Promise<SafeTensor>;
  /**
   * Reads one tensor in its own type: F64 → Float64Array, I64 → BigInt64Array (or, with `int64: 'int32'`, an
   * Int32Array after a range check), U64 → BigUint64Array, I32/U32/I16/U16/I8/U8 → their arrays, BOOL → Uint8Array
   * of 0/1, F32/F16/BF16/F8_* → Float32Array.
   */
  readTyped(name: string, options?: { int64?: 'bigint' | 'int32' }): Promise<TypedSafeTensor>;
  close(): Promise<void>;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function fail(path: string, message: string, key?: string, cause?: unknown): CheckpointError {
  return new CheckpointError(`${path}: ${message}`, path, key, cause === undefined ? undefined : { cause });
}

/** Parses and validates the header: dtypes, shapes, offsets and total size (`dataBytes` = file size − 8 − N). */
function parseHeader(path: string, json: string, dataBytes: number) {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (cause) {
    throw fail(path, `header is not valid JSON (${(cause as Error).message})`, undefined, cause);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw fail(path, 'header must be a JSON object');
  const metadata: Record<string, string> = {};
  const tensorSha256 = new Map<string, string>();
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      for (const [k, s] of Object.entries((v ?? {}) as Record<string, unknown>)) {
        if (typeof s !== 'string') throw fail(path, `__metadata__.${k} must be a string`);
        if (k.startsWith(TENSOR_SHA256_PREFIX)) tensorSha256.set(k.slice(TENSOR_SHA256_PREFIX.length), s);
        else metadata[k] = s;
      }
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e?.dtype !== 'string') throw fail(path, `tensor '${name}' has no dtype string`, name);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      throw fail(path, `tensor '${name}' has invalid shape ${JSON.stringify(shape)}`, name);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0))
      throw fail(path, `tensor '${name}' has invalid data_offsets ${JSON.stringify(off)}`, name);
    const [begin, end] = off as [number, number];
    const bits = isDtype(e.dtype) ? DTYPE_BYTES[e.dtype] * 8 : UNDECODED_BITS[e.dtype];
    if (bits === undefined)
      throw fail(
        path,
        `tensor '${name}' has dtype ${JSON.stringify(e.dtype)}, not a safetensors dtype`,
        name,
      );
    const want = (numel(shape) * bits) / 8;
    if (end - begin !== want)
      throw fail(
        path,
        `tensor '${name}' spans ${end - begin} bytes; shape ${JSON.stringify(shape)} of ${e.dtype} needs ${want}`,
        name,
      );
    if (end > dataBytes)
      throw fail(
        path,
        `tensor '${name}' ends at data byte ${end}, past the file's ${dataBytes} data bytes (truncated file?)`,
        name,
      );
    entries.set(name, { dtype: e.dtype, shape: shape as number[], begin, end });
  }
  // The data section must be covered exactly, without overlaps or gaps (as the reference implementation checks).
  const sorted = [...entries].sort((a, b) => a[1].begin - b[1].begin);
  let at = 0;
  for (const [name, e] of sorted) {
    if (e.begin !== at)
      throw fail(
        path,
        `tensor '${name}' starts at data byte ${e.begin}, expected ${at} (overlap or gap)`,
        name,
      );
    at = e.end;
  }
  if (at !== dataBytes) throw fail(path, `tensors cover ${at} data bytes but the file holds ${dataBytes}`);
  // A record, when present, must name exactly the file's tensors: a flipped byte in a name shows up here.
  if (tensorSha256.size > 0) {
    for (const name of entries.keys()) {
      if (!/^[0-9a-f]{64}$/.test(tensorSha256.get(name) ?? ''))
        throw new IntegrityError(
          `${path}: tensor '${name}' has no valid sha256 in the header's record (found ${JSON.stringify(tensorSha256.get(name) ?? null)}): the header is corrupt`,
          path,
          name,
          'a sha256',
          String(tensorSha256.get(name) ?? 'none'),
        );
    }
    for (const name of tensorSha256.keys()) {
      if (!entries.has(name))
        throw new IntegrityError(
          `${path}: the header's checksum record names tensor '${name}', which the file does not hold: the header is corrupt`,
          path,
          name,
          name,
          'no such tensor',
        );
    }
  }
  return { metadata, entries, tensorSha256 };
}

/** The first value of a float tensor that is NaN, ±Inf or beyond ±maxAbs, or -1. */
function firstImplausible(data: Float32Array | Float64Array, maxAbs: number): number {
  for (let i = 0; i < data.length; i++) if (!(Math.abs(data[i]!) <= maxAbs)) return i;
  return -1;
}

/** Opens and validates a safetensors file (and its checksums) without reading its tensors. */
export async function openSafetensors(path: string, options: VerifyOptions = {}): Promise<SafetensorsFile> {
  const verify = options.verify ?? true;
  const checkFinite = options.checkFinite ?? 'unrecorded';
  const maxAbs = options.maxAbs ?? Number.POSITIVE_INFINITY;
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (cause) {
    throw new CheckpointError(`cannot open ${path}: ${(cause as Error).message}`, path, undefined, { cause });
  }
  const record = verify ? await recordedChecksum(path) : null;
  if (size < 8) {
    if (record) checkHeader(path, record, size, new Uint8Array(0));
    throw fail(path, `file is ${size} bytes, too short for a safetensors header`);
  }
  const fh = await open(path, 'r');
  const readAt = async (buf: Uint8Array, position: number) => {
    let off = 0;
    while (off < buf.byteLength) {
      const { bytesRead } = await fh.read(buf, off, buf.byteLength - off, position + off);
      if (bytesRead === 0) throw fail(path, `unexpected end of file at byte ${position + off}`);
      off += bytesRead;
    }
  };
  try {
    const lenBuf = Buffer.alloc(8);
    await readAt(lenBuf, 0);
    const n = Number(lenBuf.readBigUInt64LE(0));
    const headerOk = n <= MAX_HEADER && 8 + n <= size;
    const headerBuf = Buffer.alloc(headerOk ? 8 + n : 8);
    lenBuf.copy(headerBuf);
    if (headerOk) await readAt(headerBuf.subarray(8), 8);
    // Checked against the record before parsing, so a corrupt header is reported as such (not as bad JSON).
    if (record?.header_sha256 !== undefined) checkHeader(path, record, size, headerBuf);
    if (!headerOk) throw fail(path, `header length ${n} exceeds the file size ${size} or the 100 MB limit`);
    const { metadata, entries, tensorSha256 } = parseHeader(
      path,
      headerBuf.subarray(8).toString('utf8'),
      size - 8 - n,
    );
    let verification: Verification = 'none';
    if (record?.sha256 !== undefined && (record.header_sha256 === undefined || tensorSha256.size === 0)) {
      const got = await fileChecksum(path);
      if (got.sha256 !== record.sha256 || got.size !== record.size)
        throw new IntegrityError(
          `${path}: the sha256 does not match checksums.json (recorded ${record.sha256}, found ${got.sha256}): the file is corrupt or was changed after it was written`,
          path,
          undefined,
          record.sha256,
          got.sha256,
        );
      verification = 'file';
    } else if (verify && tensorSha256.size > 0) verification = record ? 'header+tensors' : 'tensors';
    const dataStart = 8 + n;

    const readNative = async (name: string): Promise<{ e: SafetensorsEntry; data: SafetensorsArray }> => {
      const e = entries.get(name);
      if (!e) throw fail(path, `no tensor named '${name}'`, name);
      if (!isDtype(e.dtype))
        throw fail(path, `tensor '${name}' is ${e.dtype}, which this reader does not decode`, name);
      const bytes = new Uint8Array(e.end - e.begin);
      await readAt(bytes, dataStart + e.begin);
      const want =
        verification === 'header+tensors' || verification === 'tensors' ? tensorSha256.get(name) : null;
      if (want) {
        const got = sha256Hex(bytes);
        if (got !== want)
          throw new IntegrityError(
            `${path}: tensor '${name}' does not match its recorded sha256 (recorded ${want}, found ${got}): the file is corrupt or was changed after it was written. Restore it from a copy (an earlier checkpoint)`,
            path,
            name,
            want,
            got,
          );
      }
      const data = decodeNative(bytes, e.dtype, numel(e.shape));
      if (e.dtype === 'BOOL' && !(data as Uint8Array).every((v) => v <= 1))
        throw fail(path, `BOOL tensor '${name}' holds a byte other than 0 or 1`, name);
      const unchecked = verification === 'none';
      if (
        FLOAT_DTYPES.has(e.dtype) &&
        (checkFinite === 'always' || (checkFinite === 'unrecorded' && unchecked))
      ) {
        const at = firstImplausible(data as Float32Array | Float64Array, maxAbs);
        if (at >= 0) {
          const v = (data as Float32Array)[at]!;
          throw new IntegrityError(
            `${path}: tensor '${name}' (${e.dtype} ${JSON.stringify(e.shape)}) holds ${v} at flat index ${at}${Number.isFinite(v) ? `, beyond maxAbs ${maxAbs}` : ''}. ${unchecked ? 'The file carries no checksum, so this may be corruption or a bad export; ' : ''}pass checkFinite: 'never'${Number.isFinite(v) ? ' or a larger maxAbs' : ''} to load it anyway`,
            path,
            name,
            Number.isFinite(maxAbs) ? `|v| <= ${maxAbs}` : 'finite values',
            String(v),
          );
        }
      }
      return { e, data };
    };

    return {
      path,
      metadata,
      entries,
      tensorSha256,
      verification,
      async read(name: string): Promise<SafeTensor> {
        const { e, data } = await readNative(name);
        const dtype = e.dtype as SafetensorsDtype;
        if (data instanceof Float32Array) return { dtype, shape: [...e.shape], data };
        if (data instanceof Float64Array) {
          const out = Float32Array.from(data);
          for (let i = 0; i < out.length; i++) {
            if (!Number.isFinite(out[i]!) && Number.isFinite(data[i]!))
              throw fail(
                path,
                `F64 tensor '${name}' holds ${data[i]} at ${i}, beyond the float32 range`,
                name,
              );
          }
          return { dtype, shape: [...e.shape], data: out };
        }
        throw fail(
          path,
          `tensor '${name}' is ${dtype}, not a floating-point tensor: read it with readTyped() to get its integers`,
          name,
        );
      },
      async readTyped(name, opts = {}): Promise<TypedSafeTensor> {
        const { e, data } = await readNative(name);
        const dtype = e.dtype as SafetensorsDtype;
        if (data instanceof BigInt64Array && opts.int64 === 'int32') {
          const out = new Int32Array(data.length);
          for (let i = 0; i < data.length; i++) {
            const v = data[i]!;
            if (v > 2147483647n || v < -2147483648n)
              throw fail(path, `I64 tensor '${name}' holds ${v} at ${i}, outside the int32 range`, name);
            out[i] = Number(v);
          }
          return { dtype, shape: [...e.shape], data: out };
        }
        return { dtype, shape: [...e.shape], data };
      },
      close: () => fh.close(),
    };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/**
 * Reads a whole safetensors file (or only `keys`) as float32 tensors (see `SafetensorsFile.read`), verifying the
 * checksums it carries. Throws `CheckpointError` (`IntegrityError` for a checksum mismatch).
 */
export async function readSafetensors(
  path: string,
  keys?: readonly string[],
  options: VerifyOptions = {},
): Promise<{ tensors: Map<string, SafeTensor>; metadata: Record<string, string> }> {
  const file = await openSafetensors(path, options);
  try {
    const tensors = new Map<string, SafeTensor>();
    for (const name of keys ?? [...file.entries.keys()]) tensors.set(name, await file.read(name));
    return { tensors, metadata: file.metadata };
  } finally {
    await file.close();
  }
}

/**
 * A tensor to write, row-major. Float data (Float32Array, Float64Array) is stored as `dtype` (default: the
 * writer's `dtype`, else F32 for Float32Array and F64 for Float64Array); integer data is stored as its own type
 * (Int32Array → I32, BigInt64Array → I64, Uint8Array → U8, or BOOL when `dtype: 'BOOL'` and the values are 0/1).
 */
export interface TensorToWrite<D extends SafetensorsArray = Float32Array> {
  shape: readonly number[];
  data: D;
  dtype?: SafetensorsDtype;
}

type AnyTensor = TensorToWrite<SafetensorsArray>;

const NATIVE: [new (n: number) => SafetensorsArray, SafetensorsDtype][] = [
  [Float32Array, 'F32'],
  [Float64Array, 'F64'],
  [BigInt64Array, 'I64'],
  [BigUint64Array, 'U64'],
  [Int32Array, 'I32'],
  [Uint32Array, 'U32'],
  [Int16Array, 'I16'],
  [Uint16Array, 'U16'],
  [Int8Array, 'I8'],
  [Uint8Array, 'U8'],
];

function dtypeOf(t: AnyTensor, fallback: SafetensorsDtype | undefined): SafetensorsDtype {
  if (t.dtype) return t.dtype;
  const isFloat = t.data instanceof Float32Array || t.data instanceof Float64Array;
  if (isFloat && fallback) return fallback;
  return NATIVE.find(([C]) => t.data instanceof C)![1];
}

/**
 * Writes tensors (sorted by name) and string metadata to `path` atomically (temp file + rename), with each tensor's
 * sha256 in `__metadata__` (`sha256:<name>`; such keys in `metadata` are replaced). `options.dtype` is the storage
 * dtype of float tensors that do not name their own. Returns the file's record for `checksums.json`: its size and
 * header sha256, which with the per-tensor sha256 cover every byte (and the whole file's sha256 when asked).
 */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, AnyTensor> | Record<string, AnyTensor>,
  metadata?: Record<string, string>,
  options: {
    dtype?: SafetensorsDtype;
    /** Also hash the whole file (one more sha256 pass over the data) for `sha256sum`-style checks (default false). */
    wholeFileSha256?: boolean;
  } = {},
): Promise<FileChecksum> {
  const list = (tensors instanceof Map ? [...tensors] : Object.entries(tensors)).sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0,
  );
  const encodeOne = (name: string, t: AnyTensor, dtype: SafetensorsDtype): Uint8Array => {
    const bytes = encodeNative(t.data, dtype);
    if (!bytes)
      throw new CheckpointError(
        `${path}: tensor '${name}' holds ${t.data.constructor.name} data, which cannot be stored as ${dtype} without conversion (F8 dtypes are read only; BOOL needs a Uint8Array of 0/1)`,
        path,
        name,
      );
    return bytes;
  };
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) if (!k.startsWith(TENSOR_SHA256_PREFIX)) meta[k] = v;
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const [name, t] of list) {
    const dtype = dtypeOf(t, options.dtype);
    if (numel(t.shape) !== t.data.length)
      throw new CheckpointError(
        `${path}: tensor '${name}' has ${t.data.length} values but shape ${JSON.stringify(t.shape)}`,
        path,
        name,
      );
    // Encoded once here for the hash and again while writing, so a converted copy of the whole file is never held.
    const bytes = encodeOne(name, t, dtype);
    meta[`${TENSOR_SHA256_PREFIX}${name}`] = sha256Hex(bytes);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [at, at + bytes.byteLength] };
    at += bytes.byteLength;
  }
  let json = JSON.stringify({ __metadata__: meta, ...header });
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // align the data section to 8 bytes
  const headerBytes = Buffer.alloc(8 + Buffer.byteLength(json));
  headerBytes.writeBigUInt64LE(BigInt(headerBytes.byteLength - 8));
  headerBytes.write(json, 8, 'utf8');
  const whole = options.wholeFileSha256 ? createHash('sha256') : null;
  let size = 0;
  function* chunks() {
    for (const bytes of (function* () {
      yield headerBytes;
      for (const [name, t] of list) yield encodeOne(name, t, dtypeOf(t, options.dtype));
    })()) {
      whole?.update(bytes);
      size += bytes.byteLength;
      yield bytes;
    }
  }
  await writeFileAtomic(path, chunks());
  const rec: FileChecksum = { size, header_sha256: sha256Hex(headerBytes) };
  if (whole) rec.sha256 = whole.digest('hex');
  return rec;
}
