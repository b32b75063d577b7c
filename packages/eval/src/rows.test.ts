import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DataType, Field, List, Struct, Table, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { loadArc } from './arc.js';
import { DataError } from './errors.js';
import { loadHellaswag } from './hellaswag.js';
import { readRows } from './rows.js';
import { loadWinogrande } from './winogrande.js';

const dir = mkdtempSync(join(tmpdir(), 'loralab-eval-rows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes rows as a Hugging Face save_to_disk folder: Arrow IPC stream shards listed in state.json. */
function saveToDisk(name: string, rows: Record<string, unknown>[], shards: number): string {
  const folder = join(dir, name);
  mkdirSync(folder);
  const files: { filename: string }[] = [];
  const per = Math.ceil(rows.length / shards);
  for (let s = 0; s < shards; s++) {
    const filename = `data-${String(s).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.arrow`;
    const part = rows.slice(s * per, (s + 1) * per);
    const columns = Object.keys(rows[0]!).map((k) => [
      k,
      vectorFromArray(
        part.map((r) => r[k]),
        typeOf(rows[0]![k]),
      ),
    ]);
    const table = new Table(Object.fromEntries(columns));
    writeFileSync(join(folder, filename), tableToIPC(table, 'stream'));
    files.push({ filename });
  }
  writeFileSync(join(folder, 'state.json'), JSON.stringify({ _data_files: files, _split: 'validation' }));
  return folder;
}

/** The Arrow type Hugging Face datasets uses for a JSON value: string, list of strings, or a struct of them. */
function typeOf(value: unknown): DataType {
  if (typeof value === 'string') return new Utf8();
  if (Array.isArray(value)) return new List(new Field('item', new Utf8(), true));
  const entries = Object.entries(value as Record<string, unknown>);
  return new Struct(entries.map(([k, v]) => new Field(k, typeOf(v), true)));
}

function jsonl(name: string, rows: object[]): string {
  const file = join(dir, name);
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'));
  return file;
}

const arc = [
  {
    id: 'a',
    question: 'Which is a gas?',
    choices: { text: ['ice', 'steam', 'rock'], label: ['A', 'B', 'C'] },
    answerKey: 'B',
  },
  {
    id: 'b',
    question: 'Two plus two?',
    choices: { text: ['3', '4', '5', '22'], label: ['1', '2', '3', '4'] },
    answerKey: '2',
  },
  {
    id: 'c',
    question: 'Sky colour?',
    choices: { text: ['blue', 'green'], label: ['A', 'B'] },
    answerKey: 'A',
  },
];
const hellaswag = [
  {
    activity_label: 'Cooking',
    ctx_a: 'A man cuts onions.',
    ctx_b: 'he',
    endings: ['cries.', 'sings.', 'flies.', 'runs.'],
    label: '0',
  },
  {
    activity_label: 'Running',
    ctx_a: 'A girl runs.',
    ctx_b: 'she',
    endings: ['stops [title] now.', 'b.', 'c.', 'd.'],
    label: '3',
  },
];
const winogrande = [
  {
    sentence: 'The cup fell off the table because the _ was tilted.',
    option1: 'cup',
    option2: 'table',
    answer: '2',
  },
];

describe('Hugging Face Arrow folders', () => {
  it('load the same items as the JSONL files of the same rows', () => {
    expect(loadArc(saveToDisk('arc', arc, 2))).toEqual(loadArc(jsonl('arc.jsonl', arc)));
    expect(loadHellaswag(saveToDisk('hs', hellaswag, 1))).toEqual(
      loadHellaswag(jsonl('hs.jsonl', hellaswag)),
    );
    expect(loadWinogrande(saveToDisk('wg', winogrande, 1))).toEqual(
      loadWinogrande(jsonl('wg.jsonl', winogrande)),
    );
  });

  it('turn struct rows into plain objects and number the rows across shards', () => {
    const rows = readRows(saveToDisk('arc2', arc, 3));
    expect(rows.map((r) => r.line)).toEqual([1, 2, 3]);
    expect(rows[1]!.value).toEqual(arc[1]);
  });

  it('name the folder when it holds no Arrow data', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    expect(() => readRows(empty)).toThrow(DataError);
    expect(() => readRows(join(dir, 'missing'))).toThrow(/no such file or folder/);
  });
});
