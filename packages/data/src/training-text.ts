// The text of a record for training a tokenizer: a chosen field, the usual `text` field, or for instruction
// records the content of every turn, never the record's raw JSON.
import { detectInstructFormat, type InstructFormat, toChatMessages } from './instruct-formats.js';

export interface TrainingTextOptions {
  /** The record field holding the text; when set, nothing else is tried. */
  field?: string;
  /** The instruction layout for records without a `text` field. Default `auto`. */
  format?: InstructFormat;
}

/**
 * The text to train a tokenizer on from one JSON/Parquet record: `record[field]` when `field` is set; else
 * `record.text` when it is a string; else, for an instruction record (any layout of `toChatMessages`), the
 * content of all its turns (system, user, assistant, tool) joined by newlines. Anything else is an Error
 * naming the record's keys, so that a caller never trains on a record's raw JSON.
 */
export function trainingText(record: unknown, options: TrainingTextOptions = {}): string | Error {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    return new Error(`expected an object, found ${Array.isArray(record) ? 'an array' : typeof record}`);
  }
  const r = record as Record<string, unknown>;
  if (options.field !== undefined) {
    const v = r[options.field];
    return typeof v === 'string'
      ? v
      : new Error(
          `expected a string in field "${options.field}", found ${v === undefined ? 'no such field' : v === null ? 'null' : typeof v} (keys ${JSON.stringify(Object.keys(r))})`,
        );
  }
  if (typeof r.text === 'string') return r.text;
  const format = options.format ?? 'auto';
  if (format === 'auto' && detectInstructFormat(r) === null) {
    return new Error(
      `no string "text" field and not an instruction record (keys ${JSON.stringify(Object.keys(r))}): choose the field that holds the text`,
    );
  }
  const messages = toChatMessages(r, format);
  if (messages instanceof Error) return messages;
  return messages
    .map((m) => m.content)
    .filter((c): c is string => typeof c === 'string' && c.length > 0)
    .join('\n');
}
