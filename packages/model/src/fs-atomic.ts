// Crash-safe writes: data goes to a temporary file next to the target, is flushed, then renamed into place.
import { open, rename, rm } from 'node:fs/promises';

/**
 * Writes the chunks (in order, consumed one at a time so a large file is never held whole) to `path`
 * via `path.tmp-…` + fsync + rename. On failure the temporary file is removed and `path` is untouched.
 */
export async function writeFileAtomic(
  path: string,
  chunks: string | Uint8Array | Iterable<string | Uint8Array>,
): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const list = typeof chunks === 'string' || chunks instanceof Uint8Array ? [chunks] : chunks;
  const fh = await open(tmp, 'w');
  try {
    for (const c of list) {
      const bytes = typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
      let off = 0;
      while (off < bytes.byteLength) {
        const { bytesWritten } = await fh.write(bytes, off, bytes.byteLength - off);
        off += bytesWritten;
      }
    }
    await fh.sync();
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  await rename(tmp, path);
}
