// HellaSwag as lm-evaluation-harness's `hellaswag` task: rowanz/hellaswag JSONL (or the Hugging Face rows,
// same fields) preprocessed by lm_eval/tasks/hellaswag/utils.py, scored as multiple choice (acc, acc_norm).
import { DataError } from './errors.js';
import { isRecord } from './jsonl.js';
import { choiceItem, type MultipleChoiceItem } from './multiple-choice.js';
import { pythonCapitalize, pythonStrip } from './python-str.js';
import { readRows } from './rows.js';

/** One row in the rowanz/hellaswag format (the fields lm-eval reads). */
export interface HellaswagRow {
  activity_label: string;
  ctx_a: string;
  ctx_b: string;
  endings: string[];
  /** int in the original files, a string in the Hugging Face dataset. */
  label: number | string;
}

/** lm-eval's `preprocess`: strip, " [title]" to ". ", drop "[...]" WikiHow artefacts, "  " to " " (once). */
export function preprocessHellaswag(text: string): string {
  return pythonStrip(text)
    .replaceAll(' [title]', '. ')
    .replace(/\[.*?\]/g, '')
    .replaceAll('  ', ' ');
}

/** lm-eval's `_process_doc`: query = preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize()). */
export function processHellaswag(row: HellaswagRow): { query: string; choices: string[]; gold: number } {
  const ctx = `${row.ctx_a} ${pythonCapitalize(row.ctx_b)}`;
  return {
    query: preprocessHellaswag(`${row.activity_label}: ${ctx}`),
    choices: row.endings.map(preprocessHellaswag),
    gold: Number.parseInt(String(row.label), 10),
  };
}

/** Loads HellaSwag (JSONL or a Hugging Face Arrow folder) into scoring items (context = query, choices = the four endings). */
export function loadHellaswag(file: string): MultipleChoiceItem[] {
  return readRows(file).map(({ value, line }) => {
    const ok =
      isRecord(value) &&
      ['activity_label', 'ctx_a', 'ctx_b'].every((k) => typeof value[k] === 'string') &&
      Array.isArray(value.endings) &&
      value.endings.every((e) => typeof e === 'string') &&
      /^\d+$/.test(String(value.label));
    if (!ok) {
      throw new DataError('expected a HellaSwag row (activity_label, ctx_a, ctx_b, endings[], label)', {
        file,
        line,
      });
    }
    const doc = processHellaswag(value as unknown as HellaswagRow);
    try {
      return choiceItem(doc.query, doc.choices, doc.gold);
    } catch (cause) {
      throw new DataError(`label ${doc.gold} is not an index of the ${doc.choices.length} endings`, {
        file,
        line,
        cause,
      });
    }
  });
}
