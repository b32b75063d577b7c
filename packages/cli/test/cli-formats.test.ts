// Real file formats through the command: Parquet files of every codec (written by arrow-rs, see
// packages/data/test/fixtures/parquet) into `data prepare`, and record files (JSONL, JSON, Parquet) into
// `tokenizer train`, which trains on their text fields and never on their raw JSON lines.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifest, readShard } from '@loralab/data';
import { Tokenizer } from '@loralab/tokenizer';
import { beforeAll, describe, expect, it } from 'vitest';
import { run, tempDir } from './helpers.js';

const dir = tempDir();
const tok = join(dir, 'tok');
const FIXTURES = fileURLToPath(new URL('../../data/test/fixtures/parquet/', import.meta.url));
const CODECS = ['uncompressed', 'snappy', 'gzip', 'brotli', 'zstd', 'lz4_raw', 'lz4'];
/** The `text` column of the fixtures (row 3 is null). */
const TEXTS = ['hello', 'héllo wörld ✓', null, '', 'line\nbreak', 'sixth', 'seventh'];

/** Chat records whose keys ("messages", "role", "content") appear on every raw line but never in a turn. */
function chatJsonl(): string {
  const lines: string[] = [];
  for (let i = 0; i < 200; i++) {
    lines.push(
      JSON.stringify({
        messages: [
          { role: 'user', content: `What is ${i} plus ${i + 1}?` },
          { role: 'assistant', content: `It is ${2 * i + 1}, since ${i} and ${i + 1} make ${2 * i + 1}.` },
        ],
      }),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Every vocabulary entry of a trained tokenizer, decoded from byte-level form to text. */
async function vocabTexts(folder: string): Promise<string[]> {
  const t = await Tokenizer.fromPretrained(folder);
  return Array.from({ length: t.vocabSize }, (_, id) => t.decodeSync([id]));
}

beforeAll(async () => {
  writeFileSync(join(dir, 'chat.jsonl'), chatJsonl());
  const r = await run([
    'tokenizer',
    'train',
    join(dir, 'chat.jsonl'),
    '--vocab-size',
    '300',
    '-o',
    tok,
    '-q',
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}, 120_000);

describe('tokenizer train on record files', { timeout: 60_000 }, () => {
  it('trains on the turns of instruction records, not on their JSON', async () => {
    const vocab = await vocabTexts(tok);
    expect(vocab.some((v) => v.includes('plus'))).toBe(true);
    // Raw lines would have taught it the keys and the JSON punctuation that start every line.
    for (const artefact of ['content', 'role', 'messages', '{"', '":']) {
      expect(vocab.filter((v) => v.includes(artefact))).toEqual([]);
    }
  });

  it('refuses records with no text field, naming --field, and trains on the field it names', async () => {
    const file = join(dir, 'qa.jsonl');
    writeFileSync(
      file,
      `${Array.from({ length: 50 }, (_, i) => JSON.stringify({ question: `q${i} why`, answer: `because ${i}` })).join('\n')}\n`,
    );
    const refused = await run(['tokenizer', 'train', file, '--vocab-size', '280', '-o', join(dir, 'qa-tok')]);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain(`${file}:1:`);
    expect(refused.stderr).toContain('--field');
    const ok = await run([
      'tokenizer',
      'train',
      file,
      '--field',
      'answer',
      '--vocab-size',
      '280',
      '-o',
      join(dir, 'qa-tok'),
      '-q',
    ]);
    expect(ok.code).toBe(0);
    const vocab = await vocabTexts(join(dir, 'qa-tok'));
    expect(vocab.some((v) => v.includes('because'))).toBe(true);
    expect(vocab.filter((v) => v.includes('why') || v.includes('answer'))).toEqual([]);
  });

  it('trains on the text column of a Parquet file', async () => {
    const r = await run([
      'tokenizer',
      'train',
      join(FIXTURES, 'types-zstd.parquet'),
      '--field',
      'text',
      '--vocab-size',
      '280',
      '-o',
      join(dir, 'pq-tok'),
    ]);
    // Row 3's text is null: the command says which record, and how to choose another field.
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/types-zstd\.parquet:3: expected a string in field "text", found null/);
  });
});

describe('data prepare on Parquet files of every codec', { timeout: 60_000 }, () => {
  for (const codec of CODECS) {
    it(`reads ${codec} with the right values`, async () => {
      const out = join(dir, `pq-${codec}`);
      const r = await run([
        'data',
        'prepare',
        '--tokenizer',
        tok,
        join(FIXTURES, `types-${codec}.parquet`),
        '--field',
        'text',
        '--on-bad-record',
        'skip',
        '-o',
        out,
        '-q',
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^dataset \(text\): 6 rows, .*1 bad records skipped/);
      const t = await Tokenizer.fromPretrained(tok);
      const m = await readManifest(out);
      expect(m.shards.length).toBe(1);
      const d = await readShard(join(out, m.shards[0]!.file), m.shards[0]!);
      const want = TEXTS.filter((x): x is string => x !== null);
      for (const [i, text] of want.entries()) {
        const ids = Array.from(d.values.subarray(d.offsets[i]!, d.offsets[i + 1]!));
        expect(ids.at(-1)).toBe(t.eos!.id);
        expect(t.decodeSync(ids.slice(0, -1))).toBe(text);
      }
    });
  }

  it('makes a chat dataset from the list<struct<role, content>> column', async () => {
    const out = join(dir, 'pq-chat');
    const args = [
      'data',
      'prepare',
      '--tokenizer',
      tok,
      join(FIXTURES, 'types-zstd.parquet'),
      '--kind',
      'chat',
    ];
    // Row 3 has no turns and row 7 an assistant turn with null content: bad records, named with their row.
    const r = await run([...args, '-o', out, '-q']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/types-zstd\.parquet:3: "messages" has no turns/);
    const skipped = await run([...args, '--on-bad-record', 'skip', '-o', out, '-q']);
    expect(skipped.stderr).toBe('');
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toMatch(/^dataset \(chat\): 5 rows, .*2 bad records skipped/);
    const inspect = await run(['data', 'inspect', out, '--row', '1', '--tokenizer', tok]);
    expect(inspect.stdout).toContain('<|im_start|>user\nTwo plus two?<|im_end|>');
    expect(inspect.stdout).toContain('⟦Four.<|im_end|>');
  });
});

it('the fixtures are the committed files', () => {
  // Guards the paths above: a moved fixture folder must fail here, not skip.
  expect(readFileSync(join(FIXTURES, 'types-zstd.parquet')).subarray(0, 4).toString()).toBe('PAR1');
});
