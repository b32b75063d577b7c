// Paths of the shared real data files; tests that need them skip with a message when they are absent.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const shared = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));

export const HUMANEVAL_FILE = `${shared}humaneval/HumanEval.jsonl.gz`;
export const GSM8K_TEST_FILE = `${shared}gsm8k/test.jsonl`;
export const GSM8K_TRAIN_FILE = `${shared}gsm8k/train.jsonl`;
export const HELLASWAG_FILE = `${shared}hellaswag/hellaswag_val_sample1000.jsonl`;

/** True when the file exists; otherwise prints why the dependent tests are skipped. */
export function haveShared(file: string): boolean {
  if (existsSync(file)) return true;
  console.warn(
    `skipping: ${file} is missing (../shared/data from the repository root holds the real data files)`,
  );
  return false;
}
