// Held-out texts for the forgetting evaluations: input files in any data format, or a built-in corpus.
import type { SourceConfig } from '@loralab/data';
import { UsageError } from '../errors.js';
import { CORPORA, type CorpusName, corpusSource, fileSource, type InputFormat } from './corpora.js';

export interface TextsSettings {
  files?: string[];
  format?: InputFormat;
  field?: string;
  corpus?: CorpusName;
  split?: 'train' | 'test';
  count?: number;
  seed?: number;
  categories?: string[];
}

/** The source of held-out texts: files (format by extension unless given) or a built-in corpus. */
export function textsSource(s: TextsSettings, command: string): SourceConfig {
  if (s.files?.length && s.corpus) throw new UsageError('give text files or --corpus, not both', command);
  if (s.files?.length) return fileSource(s.files, s.format, s.field !== undefined ? { field: s.field } : {});
  if (s.corpus) {
    if (!CORPORA.includes(s.corpus)) throw new UsageError(`unknown corpus '${s.corpus}'`, command);
    return corpusSource(s.corpus, {
      split: s.split ?? 'test',
      ...(s.count !== undefined && { count: s.count }),
      ...(s.seed !== undefined && { seed: s.seed }),
      ...(s.categories && { categories: s.categories }),
    });
  }
  throw new UsageError('give text files or --corpus NAME', command);
}

/** The first `limit` texts of a source (all without a limit). */
export async function readTexts(source: SourceConfig, limit?: number): Promise<string[]> {
  const { readSource, recordText } = await import('@loralab/data');
  const texts: string[] = [];
  for await (const r of readSource(source)) {
    if (limit !== undefined && texts.length >= limit) break;
    const t = recordText(source, r.value);
    if (t instanceof Error) throw t;
    if (t.trim()) texts.push(t);
  }
  return texts;
}
