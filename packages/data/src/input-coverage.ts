// Checks that every input file of a rank gave at least one record, and undoes the folders a failed write created.
// An empty file (or one of blank lines, or of empty texts) is almost always a mistake upstream (a truncated
// download, a wrong glob); tokenizing it would give an empty dataset or rows of a lone EOS.
import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from './errors.js';

/** Which of a rank's input files gave a record with content. */
export class InputCoverage {
  private readonly missing: Set<string>;

  /** `files`: the rank's input files, or null for generated sources (never empty). */
  constructor(files: readonly string[] | null) {
    this.missing = new Set(files ?? []);
  }

  /** `file` gave a record; `blank` when its text is empty or whitespace (that alone does not count). */
  saw(file: string, blank = false): void {
    if (!blank) this.missing.delete(file);
  }

  /** Throws a DataError naming the first file that gave no record with content. */
  check(): void {
    const [first, ...others] = this.missing;
    if (first === undefined) return;
    const more = others.length ? ` (and ${others.length} more such file${others.length > 1 ? 's' : ''})` : '';
    throw new DataError(
      `holds no records: the file is empty, or nothing but blank lines or empty texts${more}; remove it from the inputs or fix it`,
      { file: first },
    );
  }
}

/** Throws when a rank read records but kept no row (all malformed and skipped, or dropped by truncation). */
export function checkSomeRows(
  rows: number,
  records: number,
  skipped: number,
  dropped: number,
  source: string,
): void {
  if (rows > 0 || records + skipped === 0) return;
  const why = [
    skipped ? `all ${skipped} records were skipped as malformed` : '',
    dropped ? `${dropped} dropped by truncation: "drop"` : '',
  ]
    .filter(Boolean)
    .join(', ');
  throw new DataError(`no rows: ${why || 'no record gave a row'}; an empty dataset trains nothing`, {
    file: source,
  });
}

/**
 * After a failed write that recorded no shard: removes this rank's progress files and the progress folder and
 * output folder when this call created them and they are now empty. Never removes another rank's or an earlier
 * run's files (the folders are removed only when empty).
 */
export function removeUnrecorded(
  outDir: string,
  progressDir: string,
  tag: string,
  partPrefix: string,
  created: { outDir: boolean; progressDir: boolean },
): void {
  if (!created.progressDir) return;
  // The rank's unfinished part (`part-R-i.arrow.tmp`): no shard was recorded, so none of its parts is kept.
  for (const name of existsSync(outDir) ? readdirSync(outDir) : []) {
    if (name.startsWith(partPrefix)) rmSync(join(outDir, name), { force: true });
  }
  for (const suffix of ['.json', '.meta.json', '.done'])
    rmSync(join(progressDir, `${tag}${suffix}`), { force: true });
  const rmdirIfEmpty = (dir: string) => {
    try {
      if (existsSync(dir)) rmdirSync(dir);
    } catch {
      // not empty: another rank or the user keeps files there
    }
  };
  rmdirIfEmpty(progressDir);
  if (created.outDir) rmdirIfEmpty(outDir);
}
