// WinoGrande as lm-evaluation-harness's `winogrande` (partial scoring, lm_eval/tasks/winogrande/preprocess_winogrande.py):
// each option fills the blank "_" and everything before it is the context; the shared remainder after the
// blank (stripped) is the continuation scored under each context; gold = answer "1" -> 0, "2" -> 1.
import { DataError } from './errors.js';
import { isRecord } from './jsonl.js';
import { type MultipleChoiceItem, partialItem } from './multiple-choice.js';
import { pythonStrip } from './python-str.js';
import { readRows } from './rows.js';

/** One WinoGrande row (Hugging Face `winogrande` / the original JSONL). */
export interface WinograndeRow {
  sentence: string;
  option1: string;
  option2: string;
  answer: string;
}

/** The scoring item of one row; undefined when the sentence has no "_" or the answer is not "1"/"2". */
export function winograndeItem(row: WinograndeRow): MultipleChoiceItem | undefined {
  const blank = row.sentence.indexOf('_');
  const gold = { '1': 0, '2': 1 }[row.answer];
  if (blank < 0 || gold === undefined) return undefined;
  const contexts = [row.option1, row.option2].map((o) => row.sentence.slice(0, blank) + o);
  return partialItem(contexts, pythonStrip(row.sentence.slice(blank + 1)), gold);
}

/** Loads WinoGrande, JSONL or a Hugging Face Arrow folder. */
export function loadWinogrande(file: string): MultipleChoiceItem[] {
  return readRows(file).map(({ value, line }) => {
    const ok =
      isRecord(value) &&
      ['sentence', 'option1', 'option2', 'answer'].every((k) => typeof value[k] === 'string');
    const item = ok ? winograndeItem(value as unknown as WinograndeRow) : undefined;
    if (!item) {
      throw new DataError('expected a WinoGrande row {sentence with "_", option1, option2, answer "1"|"2"}', {
        file,
        line,
      });
    }
    return item;
  });
}
