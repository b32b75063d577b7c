// Streaming file input: glob expansion, byte streams with transparent gzip, lines with line numbers,
// and the elements of a top-level JSON array, all without reading a file whole into memory.
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { createGunzip } from 'node:zlib';
import { DataError } from './errors.js';

const GLOB_CHARS = /[*?[]/;

/** `*`, `?` and `[...]` match within one path segment; `**` matches any number of segments. */
function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      re += end > 0 ? pattern.slice(i, end + 1) : '\\[';
      if (end > 0) i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

async function* walk(dir: string): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

/**
 * Expands paths into a sorted list of files: a file is itself, a folder is every file under it (recursively,
 * hidden files excluded), a glob is the files matching it. A path or glob matching nothing raises.
 */
export async function expandPaths(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    const found: string[] = [];
    if (GLOB_CHARS.test(path)) {
      const parts = path.split('/');
      const firstGlob = parts.findIndex((p) => GLOB_CHARS.test(p));
      const base = parts.slice(0, firstGlob).join('/') || (path.startsWith('/') ? '/' : '.');
      const re = globToRegExp(path.startsWith('./') ? path.slice(2) : path);
      const exists = await stat(base).catch(() => null);
      if (exists?.isDirectory()) {
        for await (const f of walk(base)) {
          const rel = base === '.' ? f : f;
          if (re.test(rel.split(sep).join('/'))) found.push(f);
        }
      }
    } else {
      const info = await stat(path).catch(() => null);
      if (!info) throw new DataError('no such file or folder', { file: path });
      if (info.isDirectory()) {
        for await (const f of walk(path))
          if (
            !f
              .slice(path.length)
              .split(sep)
              .some((s) => s.startsWith('.'))
          )
            found.push(f);
      } else found.push(path);
    }
    if (found.length === 0) throw new DataError('the path or glob matches no file', { file: path });
    out.push(...found.sort());
  }
  return out;
}

/** The bytes of `file`, decompressed when it ends in `.gz`. */
export function openBytes(file: string): NodeJS.ReadableStream {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  if (!file.endsWith('.gz')) return raw;
  const gunzip = createGunzip();
  raw.on('error', (e) => gunzip.destroy(e));
  return raw.pipe(gunzip);
}

/** Yields `[line, lineNumber]` (1-based, line without its `\n` or `\r\n`). Invalid UTF-8 raises a DataError. */
export async function* readLinesNumbered(file: string): AsyncGenerator<[string, number]> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let carry = '';
  let n = 0;
  try {
    for await (const chunk of openBytes(file) as AsyncIterable<Buffer>) {
      const text = carry + decoder.decode(chunk, { stream: true });
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        yield [text.slice(start, end), ++n];
        start = nl + 1;
      }
      carry = text.slice(start);
    }
    carry += decoder.decode();
  } catch (cause) {
    if (cause instanceof DataError) throw cause;
    const what = cause instanceof TypeError ? 'not valid UTF-8' : `cannot read: ${(cause as Error).message}`;
    throw new DataError(what, { file, line: n + 1, cause });
  }
  if (carry) yield [carry, ++n];
}

/** Yields the whole decoded text of `file` in chunks (for per-file documents, still streamed). */
export async function* readTextChunks(file: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const chunk of openBytes(file) as AsyncIterable<Buffer>)
      yield decoder.decode(chunk, { stream: true });
    const rest = decoder.decode();
    if (rest) yield rest;
  } catch (cause) {
    const what = cause instanceof TypeError ? 'not valid UTF-8' : `cannot read: ${(cause as Error).message}`;
    throw new DataError(what, { file, cause });
  }
}

/**
 * Yields the source text of each element of a top-level JSON array, with its 1-based line, by tracking
 * string and bracket state over the stream: memory is one element. Text outside an array raises.
 */
export async function* readJsonArrayElements(file: string): AsyncGenerator<[string, number]> {
  let state: 'before' | 'between' | 'done' = 'before';
  let depth = 0; // nesting inside the current element
  let inString = false;
  let escaped = false;
  let element = '';
  let elementLine = 0;
  let line = 1;
  for await (const chunk of readTextChunks(file)) {
    // Where the part of the current element inside this chunk starts (-1: not inside an element).
    let start = element.length > 0 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c === 10) line++;
      if (start >= 0) {
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 92) escaped = true;
          else if (c === 34) inString = false;
          continue;
        }
        if (c === 34) inString = true;
        else if (c === 123 || c === 91) depth++;
        else if (c === 125 || c === 93) {
          if (depth === 0) {
            // `]` closing the array right after a scalar element.
            element += chunk.slice(start, i);
            yield [element.trim(), elementLine];
            element = '';
            start = -1;
            state = 'done';
            continue;
          }
          depth--;
        } else if (c === 44 && depth === 0) {
          element += chunk.slice(start, i);
          yield [element.trim(), elementLine];
          element = '';
          start = -1;
          continue;
        }
        if (depth === 0 && (c === 125 || c === 93)) {
          element += chunk.slice(start, i + 1);
          yield [element.trim(), elementLine];
          element = '';
          start = -1;
        }
        continue;
      }
      if (c === 32 || c === 10 || c === 13 || c === 9) continue;
      if (state === 'before') {
        if (c !== 91) throw new DataError(`expected a JSON array, found "${chunk[i]}"`, { file, line });
        state = 'between';
      } else if (state === 'between') {
        if (c === 44) continue;
        if (c === 93) {
          state = 'done';
          continue;
        }
        start = i;
        elementLine = line;
        if (c === 34) inString = true;
        else if (c === 123 || c === 91) depth = 1;
        else depth = 0;
      } else {
        throw new DataError(`unexpected text after the end of the JSON array: "${chunk[i]}"`, { file, line });
      }
    }
    if (start >= 0) element += chunk.slice(start);
  }
  if (state !== 'done') throw new DataError('the JSON array is not closed (truncated file?)', { file, line });
}
