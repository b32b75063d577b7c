import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pythonJsonDumps } from './python-json.js';

// Golden values: tools/reference/eval-python-json.py (Python's json.dumps); exact.
const golden = JSON.parse(
  readFileSync(new URL('../test/fixtures/python-json-golden.json', import.meta.url), 'utf8'),
) as {
  value: unknown;
  dumps: string;
}[];

describe('pythonJsonDumps', () => {
  it("writes what Python's json.dumps writes (ensure_ascii, separators, surrogate pairs)", () => {
    for (const { value, dumps } of golden) expect(pythonJsonDumps(value)).toBe(dumps);
  });
});
