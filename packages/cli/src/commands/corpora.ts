// The built-in corpora (offline, from @loralab/data) by their command-line names, and input files by format.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { SourceConfig } from '@loralab/data';
import { UsageError } from '../errors.js';

export const CORPORA = ['brown', 'english', 'gsm8k-style', 'humaneval-style', 'code'] as const;
export type CorpusName = (typeof CORPORA)[number];

export const CORPUS_HELP =
  "built-in corpus: brown (general English), english (Brown, State of the Union addresses, Moby-Dick: the experiment's source domain), gsm8k-style (math word problems), humaneval-style (Python tasks), code (Python functions)";

export interface CorpusOptions {
  split?: 'train' | 'test';
  /** Records to generate (generated corpora). */
  count?: number;
  seed?: number;
  /** Brown categories `a`..`r`. */
  categories?: string[];
}

/** Default sizes of the generated corpora. */
export const DEFAULT_CORPUS_COUNT = { 'gsm8k-style': 2000, 'humaneval-style': 200, code: 2000 } as const;

/** The data source of a built-in corpus. */
export function corpusSource(name: CorpusName, o: CorpusOptions = {}): SourceConfig {
  const seed = o.seed !== undefined ? { seed: o.seed } : {};
  switch (name) {
    case 'brown':
      return { kind: 'brown', ...(o.categories && { categories: o.categories }) };
    case 'english':
      return { kind: 'english' };
    case 'gsm8k-style':
      return {
        kind: 'math',
        split: o.split ?? 'train',
        count: o.count ?? DEFAULT_CORPUS_COUNT[name],
        ...seed,
      };
    case 'humaneval-style':
      return {
        kind: 'code',
        split: o.split ?? 'train',
        count: o.count ?? DEFAULT_CORPUS_COUNT[name],
        ...seed,
      };
    case 'code':
      return { kind: 'code-corpus', count: o.count ?? DEFAULT_CORPUS_COUNT[name], ...seed };
    default:
      throw new UsageError(`unknown corpus '${name}'; expected one of ${CORPORA.join(', ')}`);
  }
}

export const INPUT_FORMATS = ['text', 'jsonl', 'json', 'parquet', 'arrow', 'hf'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** The format of an input path by its extension (a folder with `state.json` is a `save_to_disk` folder). */
export function formatOfPath(path: string): InputFormat | null {
  const p = path.toLowerCase().replace(/\.gz$/, '');
  if (p.endsWith('.jsonl') || p.endsWith('.ndjson')) return 'jsonl';
  if (p.endsWith('.json')) return 'json';
  if (p.endsWith('.parquet')) return 'parquet';
  if (p.endsWith('.arrow') || p.endsWith('.feather')) return 'arrow';
  if (p.endsWith('.txt') || p.endsWith('.text') || p.endsWith('.md')) return 'text';
  try {
    if (statSync(path).isDirectory()) {
      return statSync(join(path, 'state.json'), { throwIfNoEntry: false }) ? 'hf' : 'text';
    }
  } catch {
    return null;
  }
  return null;
}

/** The data source of input paths in `format` (default: by the first path's extension). */
export function fileSource(
  paths: string[],
  format: InputFormat | undefined,
  options: { field?: string; unit?: 'file' | 'line' | 'paragraph' } = {},
): SourceConfig {
  const f = format ?? formatOfPath(paths[0]!);
  if (!f) {
    throw new UsageError(
      `cannot tell the format of '${paths[0]}' from its name; pass --format (${INPUT_FORMATS.join(', ')})`,
    );
  }
  const field = options.field !== undefined ? { field: options.field } : {};
  switch (f) {
    case 'text':
      return { kind: 'text', paths, ...(options.unit && { unit: options.unit }) };
    case 'hf':
      if (paths.length !== 1) throw new UsageError('--format hf takes one save_to_disk folder');
      return { kind: 'hf', path: paths[0]!, ...field };
    default:
      return { kind: f, paths, ...field };
  }
}
