// A built-in multiple-choice set drawn from any source-domain text, so forgetting can be measured on tiny
// models offline: for each passage, pick its true continuation among continuations cut from other passages.
import { DataError } from './errors.js';
import { choiceItem, type MultipleChoiceItem } from './multiple-choice.js';
import { PythonRandom } from './python-random.js';

export interface ContinuationChoiceOptions {
  /** Choices per item (1 true + distractors). Default 4. */
  numChoices?: number;
  /** Characters of context: the passage is cut at the first space at or after this offset. Default 200. */
  contextChars?: number;
  /** Characters of each continuation, cut at the last space before this length. Default 100. */
  continuationChars?: number;
  /** Seed for the choice of distractors and the position of the true one. Default 1234. */
  seed?: number;
}

/** Items from passages long enough to cut (others are skipped); needs at least numChoices usable passages. */
export function buildContinuationChoiceItems(
  passages: readonly string[],
  options: ContinuationChoiceOptions = {},
): MultipleChoiceItem[] {
  const k = options.numChoices ?? 4;
  const contextChars = options.contextChars ?? 200;
  const contChars = options.continuationChars ?? 100;
  const cuts: { context: string; continuation: string }[] = [];
  for (const text of passages) {
    const at = text.indexOf(' ', contextChars);
    if (at < 0) continue;
    let continuation = text.slice(at + 1, at + 1 + contChars);
    if (at + 1 + contChars < text.length) {
      const space = continuation.lastIndexOf(' ');
      if (space > 0) continuation = continuation.slice(0, space);
    }
    if (continuation.trim().length === 0) continue;
    cuts.push({ context: text.slice(0, at), continuation });
  }
  if (cuts.length < k) {
    throw new DataError(
      `need at least ${k} passages longer than ${contextChars} characters, found ${cuts.length}`,
    );
  }
  const rnd = new PythonRandom(options.seed ?? 1234);
  const others = cuts.map((_, i) => i);
  return cuts.map((cut, i) => {
    const distractors: string[] = [];
    for (const j of rnd.sample(others, Math.min(others.length, k + 1))) {
      if (j !== i && cuts[j]!.continuation !== cut.continuation && distractors.length < k - 1) {
        distractors.push(cuts[j]!.continuation);
      }
    }
    const gold = rnd.randbelow(distractors.length + 1);
    const choices = [...distractors];
    choices.splice(gold, 0, cut.continuation);
    return choiceItem(cut.context, choices, gold);
  });
}
