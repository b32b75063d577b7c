// Streaming text input for training: files (plain or .gz) read line by line, or any (async) iterable of strings.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { TokenizerError } from './errors.js';

/** Names of record files (JSON Lines, JSON, Parquet, Arrow), whose lines are not text to train on. */
const RECORD_FILE = /\.(jsonl|ndjson|json|parquet|arrow|feather)(\.gz)?$/i;

/**
 * Yields the lines of a text file, each with its line ending, as the `tokenizers` library's file
 * trainer reads them. `.gz` files are decompressed on the fly. Memory stays at one read chunk.
 * A JSON Lines, JSON, Parquet or Arrow file (by its name) is refused: its lines are records, not text.
 */
export async function* readLines(file: string): AsyncGenerator<string> {
  if (RECORD_FILE.test(file)) {
    throw new TokenizerError(
      'is a record file (JSON Lines, JSON, Parquet or Arrow), not text: training on its raw lines would learn its JSON syntax and keys. Pass the text of its records as `texts` instead (for example with @loralab/data: readSource and trainingText), or `loralab tokenizer train FILE --field NAME`',
      { file },
    );
  }
  const info = await stat(file).catch((cause) => {
    throw new TokenizerError('cannot read training file', { file, cause });
  });
  if (!info.isFile()) throw new TokenizerError('training input must be a file', { file });
  const raw = createReadStream(file);
  const stream = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (e) => stream.destroy(e));
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let carry = '';
  let bytes = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const text = carry + decoder.decode(chunk, { stream: true });
      bytes += chunk.length;
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        yield text.slice(start, nl + 1);
        start = nl + 1;
      }
      carry = text.slice(start);
    }
    carry += decoder.decode();
  } catch (cause) {
    if (cause instanceof TypeError) {
      throw new TokenizerError(`not valid UTF-8 (in the chunk ending at byte ${bytes})`, { file, cause });
    }
    throw new TokenizerError(`cannot read training file: ${(cause as Error).message}`, { file, cause });
  }
  if (carry) yield carry;
}

/** The texts to train on, in order: the lines of `files`, then the documents of `texts`. */
export async function* textsOf(input: {
  files?: string[];
  texts?: Iterable<string> | AsyncIterable<string>;
}): AsyncGenerator<string> {
  for (const file of input.files ?? []) yield* readLines(file);
  if (input.texts) {
    for await (const text of input.texts) {
      if (typeof text !== 'string')
        throw new TokenizerError(`training texts must be strings, found ${typeof text}`);
      yield text;
    }
  }
}
