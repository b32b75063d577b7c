// Reading JSON files with errors that name the file, and atomic writes.
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { TokenizerError } from './errors.js';

/** Parses `text` as JSON; a syntax error becomes a TokenizerError naming `file` and the line and column. */
export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    const message = (cause as Error).message;
    const pos = /position (\d+)/.exec(message)?.[1];
    let where = '';
    if (pos !== undefined) {
      const before = text.slice(0, Number(pos));
      const line = before.split('\n').length;
      where = ` at line ${line}, column ${Number(pos) - before.lastIndexOf('\n')}`;
    }
    throw new TokenizerError(`malformed JSON${where}: ${message}`, { file, cause });
  }
}

/** Reads and parses a JSON file; a missing file or bad JSON raises a TokenizerError naming the file. */
export async function readJsonFile(file: string): Promise<{ text: string; value: unknown }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new TokenizerError(code === 'ENOENT' ? 'file not found' : `cannot read file (${code})`, {
      file,
      cause,
    });
  }
  return { text, value: parseJson(text, file) };
}

/** Writes `text` to `file` through a temporary file and a rename, so a crash never leaves half a file. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, file);
  } catch (cause) {
    await rm(tmp, { force: true });
    throw new TokenizerError(`cannot write file: ${(cause as Error).message}`, { file, cause });
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
