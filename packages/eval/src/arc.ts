// ARC (AI2 Reasoning Challenge) as lm-evaluation-harness's `arc_easy` / `arc_challenge`: "Question: {question}\nAnswer:"
// with choices.text as continuations and gold = choices.label.index(answerKey).
import { DataError } from './errors.js';
import { isRecord } from './jsonl.js';
import { choiceItem, type MultipleChoiceItem } from './multiple-choice.js';
import { readRows } from './rows.js';

/** Converts one row: Hugging Face `ai2_arc` ({question, choices: {text, label}, answerKey}) or AI2's JSONL
 * ({question: {stem, choices: [{text, label}]}, answerKey}). Returns undefined when the row is neither. */
export function arcItem(row: unknown): MultipleChoiceItem | undefined {
  if (!isRecord(row) || typeof row.answerKey !== 'string') return undefined;
  let question: unknown;
  let texts: unknown[];
  let labels: unknown[];
  if (typeof row.question === 'string' && isRecord(row.choices)) {
    question = row.question;
    texts = Array.isArray(row.choices.text) ? row.choices.text : [];
    labels = Array.isArray(row.choices.label) ? row.choices.label : [];
  } else if (isRecord(row.question) && Array.isArray(row.question.choices)) {
    question = row.question.stem;
    texts = row.question.choices.map((c) => (isRecord(c) ? c.text : undefined));
    labels = row.question.choices.map((c) => (isRecord(c) ? c.label : undefined));
  } else {
    return undefined;
  }
  if (typeof question !== 'string' || texts.length === 0 || texts.length !== labels.length) return undefined;
  if (![...texts, ...labels].every((x) => typeof x === 'string')) return undefined;
  const gold = labels.indexOf(row.answerKey);
  if (gold < 0) return undefined;
  return choiceItem(`Question: ${question}\nAnswer:`, texts as string[], gold);
}

/** Loads ARC, JSONL or a Hugging Face Arrow folder (either layout). */
export function loadArc(file: string): MultipleChoiceItem[] {
  return readRows(file).map(({ value, line }) => {
    const item = arcItem(value);
    if (!item) {
      throw new DataError(
        'expected an ARC row: {question, choices: {text[], label[]}, answerKey} or {question: {stem, choices[]}, answerKey}, with answerKey among the labels',
        { file, line },
      );
    }
    return item;
  });
}
