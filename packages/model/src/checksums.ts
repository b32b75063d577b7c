// `checksums.json`: the per-folder record of the files loralab wrote (model and adapter folders, checkpoints), with a
// whole-file sha256 for every file and the sha256 of each safetensors header, so a flipped byte anywhere (the header
// JSON included) is found on load. Tensors carry their own sha256 in the safetensors `__metadata__` (see safetensors.ts).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CheckpointError, IntegrityError } from './errors.js';
import { writeFileAtomic } from './fs-atomic.js';

export const CHECKSUMS_NAME = 'checksums.json';
const FORMAT = 'loralab-checksums';

/** What `checksums.json` records of one file. */
export interface FileChecksum {
  /** Size in bytes. */
  size: number;
  /**
   * sha256 of the whole file, lowercase hex (what `sha256sum` prints). Always for JSON files; for safetensors only
   * when asked (`wholeFileSha256`), since the header hash and the per-tensor hashes already cover every byte.
   */
  sha256?: string;
  /** safetensors only: sha256 of the first 8 + N bytes (header length and header JSON). */
  header_sha256?: string;
}

/** `checksums.json`: `self_sha256` is the sha256 of `JSON.stringify({ format, version, algorithm, files })`. */
export interface ChecksumsFile {
  format: typeof FORMAT;
  version: 1;
  algorithm: 'sha256';
  files: Record<string, FileChecksum>;
  self_sha256: string;
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function selfHash(c: Omit<ChecksumsFile, 'self_sha256'>): string {
  return sha256Hex(
    JSON.stringify({ format: c.format, version: c.version, algorithm: c.algorithm, files: c.files }),
  );
}

/**
 * Reads `dir/checksums.json`: null when the folder has none (files written by other tools, or by loralab before
 * checksums); an `IntegrityError` when it is not valid or its own checksum does not match.
 */
export async function readChecksums(dir: string): Promise<ChecksumsFile | null> {
  const path = join(dir, CHECKSUMS_NAME);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CheckpointError(`cannot read ${path}: ${(e as Error).message}`, path, undefined, { cause: e });
  }
  let c: ChecksumsFile;
  try {
    c = JSON.parse(text) as ChecksumsFile;
  } catch (cause) {
    throw new IntegrityError(
      `${path} is not valid JSON (${(cause as Error).message}): the checksum record is corrupt, so the folder cannot be verified. Restore the folder from a copy, or delete ${CHECKSUMS_NAME} to load it unverified`,
      path,
      undefined,
      'valid JSON',
      'invalid JSON',
      { cause },
    );
  }
  const found =
    c && typeof c === 'object' && c.format === FORMAT ? selfHash(c) : 'no loralab checksum record';
  if (found !== c?.self_sha256) {
    throw new IntegrityError(
      `${path}: the checksum record fails its own checksum (self_sha256 ${String(c?.self_sha256)}, content gives ${found}): it is corrupt or was edited. Restore the folder from a copy, or delete ${CHECKSUMS_NAME} to load it unverified`,
      path,
      undefined,
      String(c?.self_sha256),
      found,
    );
  }
  return c;
}

/** The recorded checksum of `path` (from `checksums.json` in its folder), or null when none is recorded. */
export async function recordedChecksum(path: string): Promise<FileChecksum | null> {
  const c = await readChecksums(dirname(path));
  return c?.files[basename(path)] ?? null;
}

/**
 * Adds (or replaces) the records of `files` (name → checksum) in `dir/checksums.json`, written atomically. A
 * corrupt existing record is replaced by one holding only `files`.
 */
export async function recordChecksums(dir: string, files: Record<string, FileChecksum>): Promise<void> {
  const old = await readChecksums(dir).catch((e: unknown) => {
    if (e instanceof IntegrityError) return null;
    throw e;
  });
  const merged = { ...old?.files, ...files };
  const sorted = Object.fromEntries(
    Object.keys(merged)
      .sort()
      .map((k) => [k, merged[k]!]),
  );
  const body = { format: FORMAT, version: 1, algorithm: 'sha256', files: sorted } as const;
  const out: ChecksumsFile = { ...body, self_sha256: selfHash(body) };
  await writeFileAtomic(join(dir, CHECKSUMS_NAME), `${JSON.stringify(out, null, 2)}\n`);
}

/** Removes the records of the files `drop` selects (nothing happens when the folder has no valid record). */
export async function forgetChecksums(dir: string, drop: (name: string) => boolean): Promise<void> {
  const old = await readChecksums(dir).catch(() => null);
  if (!old || !Object.keys(old.files).some(drop)) return;
  const files = Object.fromEntries(Object.entries(old.files).filter(([k]) => !drop(k)));
  const body = { format: FORMAT, version: 1, algorithm: 'sha256', files } as const;
  await writeFileAtomic(
    join(dir, CHECKSUMS_NAME),
    `${JSON.stringify({ ...body, self_sha256: selfHash(body) }, null, 2)}\n`,
  );
}

/** The checksum of bytes about to be written (a JSON file). */
export function checksumOf(bytes: Uint8Array | string): FileChecksum & { sha256: string } {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  return { size: b.byteLength, sha256: sha256Hex(b) };
}

/** sha256 and size of a file on disk, streamed. */
export async function fileChecksum(path: string): Promise<FileChecksum & { sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).byteLength;
  }
  return { size, sha256: hash.digest('hex') };
}

function mismatch(path: string, what: string, expected: string, found: string): IntegrityError {
  return new IntegrityError(
    `${path}: ${what} does not match ${CHECKSUMS_NAME} (recorded ${expected}, found ${found}): the file is corrupt or was changed after it was written. Restore it from a copy (an earlier checkpoint), or, if the change is intended, delete its entry from ${CHECKSUMS_NAME}`,
    path,
    undefined,
    expected,
    found,
  );
}

/** Checks a file's whole bytes (already read, or streamed from disk) against its record; no record: no check. */
export async function verifyFileChecksum(path: string, bytes?: Uint8Array): Promise<FileChecksum | null> {
  const rec = await recordedChecksum(path);
  if (!rec) return null;
  if (rec.sha256 === undefined) return rec; // a safetensors record: verified by its reader (header + tensors)
  const got = bytes ? checksumOf(bytes) : await fileChecksum(path);
  if (got.size !== rec.size) throw mismatch(path, 'the size', `${rec.size} bytes`, `${got.size} bytes`);
  if (got.sha256 !== rec.sha256) throw mismatch(path, 'the sha256', rec.sha256, String(got.sha256));
  return rec;
}

/** Reads a whole (small) file and checks it against `checksums.json` when its folder has one. */
export async function readVerifiedFile(path: string): Promise<Buffer> {
  const bytes = await readFile(path);
  await verifyFileChecksum(path, bytes);
  return bytes;
}

/** Checks a file's size and header hash against a record (used by the safetensors reader before parsing). */
export function checkHeader(path: string, rec: FileChecksum, size: number, header: Uint8Array): void {
  if (rec.size !== size) throw mismatch(path, 'the size', `${rec.size} bytes`, `${size} bytes`);
  const got = sha256Hex(header);
  if (rec.header_sha256 !== undefined && got !== rec.header_sha256)
    throw mismatch(path, 'the header (length and JSON)', rec.header_sha256, got);
}
