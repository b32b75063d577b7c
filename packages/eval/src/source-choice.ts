// Two more built-in multiple-choice tasks drawn from any held-out source-domain text, so forgetting can be
// measured as an accuracy averaged over several tasks (as Biderman et al. 2024 average HellaSwag, ARC-Challenge
// and WinoGrande) on models too small for those benchmarks:
// - word cloze (in the spirit of WinoGrande and LAMBADA): a sentence with one word replaced by other words of the
//   text; the model must prefer the original sentence;
// - word order (in the spirit of BLiMP's minimal pairs): a sentence against copies with two adjacent words swapped.
// Both score whole sentences after the same preceding context, so every choice is judged on the same footing.
import { DataError } from './errors.js';
import { choiceItem, type MultipleChoiceItem } from './multiple-choice.js';
import { PythonRandom } from './python-random.js';

export interface SourceChoiceOptions {
  /** Choices per item (1 original + distractors). Default 4. */
  numChoices?: number;
  /** Characters of preceding text given as context (cut at a word boundary; the text before the sentence). Default 200. */
  contextChars?: number;
  /** Sentences shorter or longer than this many words are not used. Default [6, 30]. */
  minWords?: number;
  maxWords?: number;
  /** Seed of every random choice. Default 1234. */
  seed?: number;
}

interface Sentence {
  /** Text before the sentence in its passage (the last `contextChars`, starting at a word). */
  context: string;
  words: string[];
}

/** Sentences ending in . ! or ? followed by a space or the end, with at least a few characters of text before them. */
function sentencesOf(passages: readonly string[], o: Required<SourceChoiceOptions>): Sentence[] {
  const out: Sentence[] = [];
  for (const text of passages) {
    const flat = text.replace(/\s+/g, ' ');
    const re = /[^.!?]+[.!?]+(?=\s|$)/g;
    for (let m = re.exec(flat); m !== null; m = re.exec(flat)) {
      const sentence = m[0].trim();
      const start = m.index + m[0].indexOf(sentence);
      const words = sentence.split(' ');
      if (start < 20 || words.length < o.minWords || words.length > o.maxWords) continue;
      let context = flat.slice(Math.max(0, start - o.contextChars), start).trimEnd();
      if (start > o.contextChars) context = context.slice(context.indexOf(' ') + 1);
      out.push({ context, words });
    }
  }
  return out;
}

function resolve(options: SourceChoiceOptions): Required<SourceChoiceOptions> {
  const o = { numChoices: 4, contextChars: 200, minWords: 6, maxWords: 30, seed: 1234, ...options };
  if (!Number.isInteger(o.numChoices) || o.numChoices < 2)
    throw new DataError(`numChoices must be an integer >= 2, found ${o.numChoices}`);
  if (!(o.minWords >= 3 && o.maxWords >= o.minWords))
    throw new DataError(`need 3 <= minWords <= maxWords, found ${o.minWords} and ${o.maxWords}`);
  return o;
}

/** Places `original` among `distractors` at a random position; returns the item. */
function place(
  rnd: PythonRandom,
  context: string,
  original: string,
  distractors: string[],
): MultipleChoiceItem {
  const gold = rnd.randbelow(distractors.length + 1);
  const choices = [...distractors];
  choices.splice(gold, 0, original);
  return choiceItem(context, choices, gold);
}

/** A word that can be blanked or swapped: letters only (no punctuation attached), not a one-letter word. */
const isPlainWord = (w: string) => /^[A-Za-z]{2,}$/.test(w);

/**
 * Word cloze: for each usable sentence, one content word (4+ letters, not the first word) is replaced by
 * `numChoices - 1` different content words drawn from other sentences; the choices are the whole sentences.
 */
export function buildClozeChoiceItems(
  passages: readonly string[],
  options: SourceChoiceOptions = {},
): MultipleChoiceItem[] {
  const o = resolve(options);
  const sentences = sentencesOf(passages, o);
  const pool = [...new Set(sentences.flatMap((s) => s.words.filter((w) => /^[a-z]{4,}$/.test(w))))];
  if (pool.length < o.numChoices) {
    throw new DataError(`need at least ${o.numChoices} distinct words of 4+ letters, found ${pool.length}`);
  }
  const rnd = new PythonRandom(o.seed);
  const items: MultipleChoiceItem[] = [];
  for (const s of sentences) {
    const slots = s.words.map((_, i) => i).filter((i) => i > 0 && /^[a-z]{4,}$/.test(s.words[i]!));
    if (slots.length === 0) continue;
    const at = slots[rnd.randbelow(slots.length)]!;
    const word = s.words[at]!;
    const fillers = new Set<string>();
    while (fillers.size < o.numChoices - 1) {
      const w = pool[rnd.randbelow(pool.length)]!;
      if (w !== word) fillers.add(w);
    }
    const variant = (w: string) => s.words.map((x, i) => (i === at ? w : x)).join(' ');
    items.push(place(rnd, s.context, s.words.join(' '), [...fillers].map(variant)));
  }
  return items;
}

/**
 * Word order: each usable sentence against `numChoices - 1` copies with one pair of adjacent plain words swapped
 * (different pairs, and never two equal words, so every choice is a different string).
 */
export function buildWordOrderChoiceItems(
  passages: readonly string[],
  options: SourceChoiceOptions = {},
): MultipleChoiceItem[] {
  const o = resolve(options);
  const rnd = new PythonRandom(o.seed);
  const items: MultipleChoiceItem[] = [];
  for (const s of sentencesOf(passages, o)) {
    const pairs = s.words
      .map((_, i) => i)
      .filter(
        (i) =>
          i + 1 < s.words.length &&
          isPlainWord(s.words[i]!) &&
          isPlainWord(s.words[i + 1]!) &&
          s.words[i] !== s.words[i + 1],
      );
    if (pairs.length < o.numChoices - 1) continue;
    const swapped = rnd.sample(pairs, o.numChoices - 1).map((i) => {
      const w = [...s.words];
      [w[i], w[i + 1]] = [w[i + 1]!, w[i]!];
      return w.join(' ');
    });
    items.push(place(rnd, s.context, s.words.join(' '), swapped));
  }
  return items;
}
