// Test helpers: run the `loralab` command in-process with captured output, and temporary folders.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { main } from '../src/main.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `loralab ...argv` in this process; stderr is not a terminal unless `tty`. */
export async function run(
  argv: string[],
  options: { signal?: AbortSignal; tty?: boolean } = {},
): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    tty: options.tty ?? false,
    ...(options.signal && { signal: options.signal }),
  });
  return { code, stdout, stderr };
}

/** A temporary folder removed after the test file. */
export function tempDir(prefix = 'loralab-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** /work/shared (real public data) as seen from the repository root, or null when absent. */
export const SHARED_DATA = new URL('../../../../shared/data/', import.meta.url).pathname;
