// tokenizer train, data prepare and data inspect end to end on tiny inputs, with config files and overrides.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run, SHARED_DATA, tempDir } from './helpers.js';

const dir = tempDir();
const tok = join(dir, 'tok');
const alpaca = join(SHARED_DATA, 'instruct/alpaca_en_demo.json');
if (!existsSync(alpaca))
  console.warn(`skipping the real instruction-data test: ${alpaca} is absent (../shared/data)`);

/** A few hundred lines of varied English-like text. */
function corpus(): string {
  const words = [
    'the',
    'model',
    'learns',
    'less',
    'and',
    'forgets',
    'rank',
    'update',
    'weights',
    'low',
    'data',
  ];
  const lines: string[] = [];
  for (let i = 0; i < 300; i++) {
    lines.push(
      Array.from({ length: 8 + (i % 7) }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' '),
    );
  }
  return `${lines.join('\n')}\n`;
}

beforeAll(async () => {
  writeFileSync(join(dir, 'corpus.txt'), corpus());
  const r = await run([
    'tokenizer',
    'train',
    join(dir, 'corpus.txt'),
    '--corpus',
    'gsm8k-style',
    '--count',
    '200',
    '--vocab-size',
    '420',
    '-o',
    tok,
  ]);
  expect(r.stderr).toContain('done: reading texts');
  expect(r.code).toBe(0);
}, 120_000);

describe('tokenizer train', { timeout: 60_000 }, () => {
  it('writes a Hugging Face tokenizer and says what it did', async () => {
    expect(existsSync(join(tok, 'tokenizer.json'))).toBe(true);
    const config = JSON.parse(readFileSync(join(tok, 'tokenizer_config.json'), 'utf8'));
    expect(config.chat_template).toContain('<|im_start|>');
    const r = await run([
      'tokenizer',
      'train',
      join(dir, 'corpus.txt'),
      '--vocab-size',
      '300',
      '-o',
      join(dir, 'tok2'),
      '-q',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^tokenizer: vocabulary 300 from 300 texts \(\d+ distinct words\) in .* -> .*tok2\n$/,
    );
    expect(r.stderr).toBe('');
  });

  it('reads a YAML config with --set overrides, and rejects unknown keys with their path', async () => {
    const yaml = join(dir, 'tok.yaml');
    writeFileSync(
      yaml,
      `files: [${join(dir, 'corpus.txt')}]\nvocabSize: 500\nminFrequency: 2\noutput: ${join(dir, 'tok3')}\n`,
    );
    const r = await run(['tokenizer', 'train', '-c', yaml, '--set', 'vocabSize=290', '-q']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('vocabulary 290');
    const bad = await run(['tokenizer', 'train', '-c', yaml, '--set', 'vocab_size=290']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(
      /^loralab: ConfigError: config "vocab_size": unknown key; known keys here: .*vocabSize/,
    );
    writeFileSync(join(dir, 'typo.yaml'), 'files: [x]\nvocabSise: 500\n');
    const typo = await run(['tokenizer', 'train', '-c', join(dir, 'typo.yaml'), '-o', join(dir, 'x')]);
    expect(typo.code).toBe(3);
    expect(typo.stderr).toContain('config "vocabSise": unknown key');
    const unknownCorpus = await run(['tokenizer', 'train', '--corpus', 'wiki', '-o', join(dir, 'x')]);
    expect(unknownCorpus.code).toBe(3);
    expect(unknownCorpus.stderr).toContain("unknown corpus 'wiki'");
  });

  it('fails with exit 3 on a config file that does not parse, naming file and line', async () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{\n  "vocabSize": 300,\n  "files": ["a"]\n  "output": "x"\n}\n');
    const r = await run(['tokenizer', 'train', '-c', file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${file}:4: not valid JSON`);
  });
});

describe('data prepare and data inspect', { timeout: 60_000 }, () => {
  it('tokenizes JSONL into shards with a manifest, resumes, and shows a row', async () => {
    const jsonl = join(dir, 'docs.jsonl');
    writeFileSync(
      jsonl,
      corpus()
        .trim()
        .split('\n')
        .map((text) => JSON.stringify({ content: text }))
        .join('\n'),
    );
    const out = join(dir, 'docs');
    const r = await run([
      'data',
      'prepare',
      '-t',
      tok,
      jsonl,
      '--field',
      'content',
      '--shard-tokens',
      '1000',
      '-o',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^dataset \(text\): 300 rows, \d+ tokens in \d shards; \d written, 0 resumed/);
    expect(existsSync(join(out, 'manifest.json'))).toBe(true);
    expect(existsSync(join(out, 'state.json'))).toBe(true);
    const again = await run([
      'data',
      'prepare',
      '-t',
      tok,
      jsonl,
      '--field',
      'content',
      '--shard-tokens',
      '1000',
      '-o',
      out,
    ]);
    expect(again.code).toBe(0);
    const inspect = await run(['data', 'inspect', '-t', tok, out, '--row', '2']);
    expect(inspect.code).toBe(0);
    const lines = inspect.stdout.split('\n');
    expect(lines[0]).toMatch(/: text dataset, 300 rows, \d+ tokens \(uint16\), \d shards/);
    expect(inspect.stdout).toContain(`--- row 2: `);
    expect(inspect.stdout).toContain(`⟦${corpus().split('\n')[2]}<|end_of_text|>⟧`);
  });

  it('makes a chat dataset from the generated math problems with the assistant turn trained', async () => {
    const out = join(dir, 'math');
    const r = await run([
      'data',
      'prepare',
      '-t',
      tok,
      '--corpus',
      'gsm8k-style',
      '--count',
      '20',
      '--kind',
      'chat',
      '-o',
      out,
      '-q',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^dataset \(chat\): 20 rows/);
    const rows = await run(['data', 'inspect', '-t', tok, out]);
    expect(rows.stdout).toMatch(/--- row 0: \d+ tokens, \d+ trained \([\d.]+%\), trained spans in ⟦ ⟧\n/);
    expect(rows.stdout).toMatch(/<\|im_start\|>assistant\n⟦[^⟧]*#### \d+<\|im_end\|>⟧/);
    expect(rows.stdout).not.toMatch(/⟦[^⟧]*<\|im_start\|>user/);
    const batch = await run([
      'data',
      'inspect',
      '-t',
      tok,
      out,
      '--seq-len',
      '200',
      '--mode',
      'rows',
      '--rows',
      '2',
    ]);
    expect(batch.code).toBe(0);
    expect(batch.stdout).toContain('--- sample 1 of the first batch: ');
    expect(batch.stdout).toMatch(/assistant\n⟦/);
  });

  it.skipIf(!existsSync(alpaca))(
    'makes a chat dataset from a real Alpaca file, assistant turns trained',
    async () => {
      const out = join(dir, 'alpaca');
      const r = await run(['data', 'prepare', '-t', tok, alpaca, '--kind', 'chat', '-o', out, '-q']);
      expect(r.code).toBe(0);
      const rows = JSON.parse(readFileSync(alpaca, 'utf8')).length;
      expect(r.stdout).toMatch(new RegExp(`^dataset \\(chat\\): ${rows} rows`));
      const shown = await run(['data', 'inspect', '-t', tok, out]);
      expect(shown.stdout).toMatch(
        /<\|im_start\|>user\n[^⟦]+<\|im_end\|>\n<\|im_start\|>assistant\n⟦[^⟧]+<\|im_end\|>⟧/,
      );
    },
  );

  it('takes the whole WriteDatasetConfig from a file, flags replacing the source', async () => {
    const file = join(dir, 'prepare.yaml');
    writeFileSync(
      file,
      `tokenizer: ${tok}\nsource:\n  kind: text\n  paths: [${join(dir, 'corpus.txt')}]\n  unit: line\nshardTokens: 500\n`,
    );
    const out = join(dir, 'lines');
    const r = await run(['data', 'prepare', '-c', file, '-o', out, '-q']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^dataset \(text\): 300 rows/);
    const brown = await run([
      'data',
      'prepare',
      '-c',
      file,
      '--corpus',
      'brown',
      '--categories',
      'r',
      '-o',
      join(dir, 'humor'),
      '-q',
    ]);
    expect(brown.code).toBe(0);
    expect(brown.stdout).toMatch(/^dataset \(text\): 9 rows/);
    const bad = await run([
      'data',
      'prepare',
      '-c',
      file,
      '-o',
      join(dir, 'x'),
      '--set',
      'source.units=line',
    ]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('config "source.units": unknown key');
  });

  it('reports a malformed record with file and line (exit 4), or skips it', async () => {
    const jsonl = join(dir, 'bad.jsonl');
    writeFileSync(jsonl, '{"text": "one"}\n{"text": "two"\n{"text": "three"}\n');
    const r = await run(['data', 'prepare', '-t', tok, jsonl, '-o', join(dir, 'bad')]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(new RegExp(`^loralab: DataError: ${jsonl}:2: `, 'm'));
    const skip = await run([
      'data',
      'prepare',
      '-t',
      tok,
      jsonl,
      '--on-bad-record',
      'skip',
      '-o',
      join(dir, 'skip'),
      '-q',
    ]);
    expect(skip.code).toBe(0);
    expect(skip.stdout).toContain('2 rows');
    expect(skip.stdout).toContain('1 bad records skipped');
  });

  it('refuses to inspect with another tokenizer, and names missing inputs (exit 4)', async () => {
    const r = await run(['data', 'inspect', '-t', join(dir, 'tok2'), join(dir, 'math')]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('written with another tokenizer');
    const missing = await run(['data', 'inspect', '-t', tok, join(dir, 'nowhere')]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('nowhere');
    const noTok = await run([
      'data',
      'prepare',
      '-t',
      join(dir, 'nowhere'),
      '--corpus',
      'brown',
      '-o',
      join(dir, 'y'),
    ]);
    expect(noTok.code).toBe(4);
    expect(noTok.stderr).toMatch(/^loralab: TokenizerError: /);
  });

  it('a SIGINT ends a data prepare at once (exit 130), and the rerun completes the dataset', async () => {
    const out = join(dir, 'sigint');
    const root = new URL('../../../', import.meta.url).pathname;
    const main = new URL('../src/main.ts', import.meta.url).pathname;
    const argv = ['data', 'prepare', '-t', tok, '--corpus', 'brown', '--shard-tokens', '100000', '-o', out];
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@loralab/source', main, ...argv],
      {
        cwd: root,
      },
    );
    let stderr = '';
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('tokenizing 0') && !child.killed) child.kill('SIGINT');
      });
      child.on('close', (c) => resolve(c));
    });
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('loralab: interrupted');
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
    const again = await run([...argv, '-q']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^dataset \(text\): 500 rows/);
  });
});
