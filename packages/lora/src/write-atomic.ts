// Crash-safe small-file writes: temp file next to the target, fsync, rename (as @loralab/model does for its files).
import { open, rename, rm } from 'node:fs/promises';

/** Writes `text` to `path` via `path.tmp-…` + fsync + rename; on failure `path` is untouched. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  await rename(tmp, path);
}
