// Bad input through the real command line (issue #16): each case gets a named error and a non-zero exit code, and
// nothing already written is lost. Empty inputs to `data prepare`, a negative lora_alpha in adapter_config.json, a
// learning rate that collapses training, --steps past one epoch, negative numbers as flag values, and --precision.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run, tempDir } from './helpers.js';

const dir = tempDir('loralab-cli-bad-');
const tok = join(dir, 'tok');
const base = join(dir, 'base');
const text = join(dir, 'text');
const backend = ['--backend', 'wasm'];
const tiny = ['--hidden-size', '32', '--layers', '2', '--heads', '2'];
// 12 generated problems: 70 sequences of 33 tokens, 18 steps of 4 samples (the last of 2) per epoch.
const EPOCH_STEPS = 18;

async function ok(argv: string[]): Promise<string> {
  const r = await run([...argv, '-q']);
  expect(r.stderr, argv.join(' ')).not.toMatch(/loralab: \w+Error/);
  expect(r.code, argv.join(' ')).toBe(0);
  return r.stdout;
}

beforeAll(async () => {
  await ok([
    'tokenizer',
    'train',
    '--corpus',
    'gsm8k-style',
    '--count',
    '200',
    '--vocab-size',
    '300',
    '-o',
    tok,
  ]);
  await ok(['data', 'prepare', '-t', tok, '--corpus', 'gsm8k-style', '--count', '12', '-o', text]);
  const out = await ok([
    'pretrain',
    '-t',
    tok,
    '--data',
    text,
    '-o',
    base,
    ...tiny,
    ...backend,
    '--seq-len',
    '32',
    '--batch-size',
    '4',
    '--steps',
    '2',
  ]);
  expect(out).toMatch(/^trained 2 steps/);
}, 120_000);

describe('data prepare refuses empty inputs', { timeout: 30_000 }, () => {
  const cases: [string, string, string][] = [
    ['an empty JSONL file', 'empty.jsonl', ''],
    ['an empty text file', 'empty.txt', ''],
    ['a text file of blank lines', 'blank.txt', '\n\n   \n\t\n'],
    ['a JSONL file of blank lines', 'blank.jsonl', '\n\n\n'],
  ];
  for (const [what, name, content] of cases) {
    it(`${what}: DataError naming the file, exit 4, no output folder left behind`, async () => {
      const input = join(dir, name);
      writeFileSync(input, content);
      const out = join(dir, `out-${name}`);
      const r = await run(['data', 'prepare', '-t', tok, input, '-o', out, '-q']);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/^loralab: DataError: /);
      expect(r.stderr).toContain(input);
      expect(r.stderr).toMatch(/no records|nothing but blank/);
      expect(r.stdout).toBe('');
      expect(existsSync(out)).toBe(false);
    });
  }

  it('an output folder that existed before keeps what it held; nothing half-written is added', async () => {
    const input = join(dir, 'empty2.jsonl');
    writeFileSync(input, '');
    const out = join(dir, 'existing');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine\n');
    const r = await run(['data', 'prepare', '-t', tok, input, '-o', out, '-q']);
    expect(r.code).toBe(4);
    expect(readdirSync(out)).toEqual(['notes.txt']);
    // A finished dataset in the folder is not touched either.
    const before = readFileSync(join(text, 'manifest.json'), 'utf8');
    const again = await run(['data', 'prepare', '-t', tok, input, '-o', text, '-q']);
    expect(again.code).toBe(4);
    expect(readFileSync(join(text, 'manifest.json'), 'utf8')).toBe(before);
  });
});

describe('numeric flags', { timeout: 30_000 }, () => {
  it('--lr -1 and --lr=-1: a range error naming the option, exit 2', async () => {
    for (const lr of [['--lr', '-1'], ['--lr=-1']]) {
      const r = await run([
        'finetune',
        '--method',
        'full',
        '--task',
        'cpt',
        '--model',
        base,
        '--data',
        text,
        '-o',
        join(dir, 'neg'),
        ...lr,
      ]);
      expect(r.code, lr.join(' ')).toBe(2);
      expect(r.stderr).toContain('loralab: --lr must be a positive number, got -1\n');
      expect(existsSync(join(dir, 'neg'))).toBe(false);
    }
    const zero = await run(['pretrain', '-t', tok, '--data', text, '-o', join(dir, 'neg'), '--lr', '0']);
    expect(zero.stderr).toContain('--lr must be a positive number, got 0');
    const seed = await run(['pretrain', '-t', tok, '--data', text, '-o', join(dir, 'neg'), '--seed', '-3']);
    expect(seed.code).toBe(2);
    expect(seed.stderr).toContain('--seed must be an integer >= 0, got -3');
    const short = await run(['finetune', '--method', 'lora', '--task', 'cpt', '-r', '-2']);
    expect(short.stderr).toContain('--rank must be an integer >= 1, got -2');
    const word = await run(['finetune', '--method', 'full', '--task', 'cpt', '--lr', 'fast']);
    expect(word.stderr).toContain('--lr must be a positive number, got "fast"');
  });
});

describe('--precision', { timeout: 30_000 }, () => {
  it('an unknown value is a usage error (exit 2); bf16 on wasm a ConfigError naming the key (exit 3)', async () => {
    const args = ['pretrain', '-t', tok, '--data', text, '-o', join(dir, 'prec')];
    const unknown = await run([...args, '--precision', 'fp16']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--precision must be one of fp32, bf16, found "fp16"');
    const wasm = await run([...args, '--precision', 'bf16', ...backend]);
    expect(wasm.code).toBe(3);
    expect(wasm.stderr).toMatch(/TrainConfig\.precision must be "fp32" with backend "wasm"/);
    expect(existsSync(join(dir, 'prec'))).toBe(false);
  });
});

describe('adapter_config.json', { timeout: 60_000 }, () => {
  it('a negative lora_alpha is a ConfigError naming the key and the file, exit 3', async () => {
    const lora = join(dir, 'lora');
    await ok([
      'finetune',
      '--method',
      'lora',
      '--task',
      'cpt',
      '--model',
      join(base, 'final'),
      '--data',
      text,
      '--seq-len',
      '32',
      '--batch-size',
      '4',
      '--steps',
      '1',
      '--rank',
      '2',
      '-o',
      lora,
      ...backend,
    ]);
    const file = join(lora, 'final', 'adapter_config.json');
    const config = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...config, lora_alpha: -4 }));
    // A hand-edited config no longer matches the folder's checksums.json (an IntegrityError, exit 4): drop the
    // record, so the folder is read as a foreign PEFT adapter and its config is checked on its own.
    rmSync(join(lora, 'final', 'checksums.json'));
    const r = await run([
      'eval',
      'perplexity',
      '--model',
      join(base, 'final'),
      '--adapter',
      join(lora, 'final'),
      '--corpus',
      'gsm8k-style',
      '--count',
      '2',
      ...backend,
      '-q',
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^loralab: ConfigError: /);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('lora_alpha must be a positive number, found -4');
    expect(r.stdout).toBe('');
  });
});

describe('training length and guard', { timeout: 90_000 }, () => {
  const common = [
    '--model',
    join(base, 'final'),
    '--data',
    text,
    '--seq-len',
    '32',
    '--batch-size',
    '4',
    ...backend,
  ];

  it('--steps past one epoch trains exactly that many steps, cycling the data', async () => {
    const out = join(dir, 'long');
    const steps = 2 * EPOCH_STEPS + 3;
    const stdout = await ok([
      'finetune',
      '--method',
      'full',
      '--task',
      'cpt',
      ...common,
      '--steps',
      `${steps}`,
      '-o',
      out,
    ]);
    expect(stdout).toMatch(
      new RegExp(`^trained ${steps} steps \\(2\\.\\d+ epochs of ${EPOCH_STEPS} steps\\)`),
    );
    const result = JSON.parse(readFileSync(join(out, 'train_result.json'), 'utf8'));
    expect(result.steps).toBe(steps);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.at(-1).step).toBe(steps);
    expect(lines.at(-1).epoch).toBeGreaterThan(2);
  });

  it('--steps beyond an explicit --epochs: a ConfigError stating the epoch length, exit 3, nothing trained', async () => {
    const out = join(dir, 'conflict');
    const r = await run([
      'finetune',
      '--method',
      'full',
      '--task',
      'cpt',
      ...common,
      '--steps',
      '30',
      '--epochs',
      '1',
      '-o',
      out,
      '-q',
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^loralab: ConfigError: /m);
    expect(r.stderr).toContain(`steps 30 exceeds the ${EPOCH_STEPS} steps of epochs 1`);
    expect(r.stderr).toMatch(/one epoch is 70 samples/);
    expect(existsSync(join(out, 'final'))).toBe(false);
  });

  it('--lr 3e3 collapses the model: a named error, exit 5, only bounded checkpoints kept', async () => {
    const out = join(dir, 'collapse');
    const r = await run([
      'finetune',
      '--method',
      'full',
      '--task',
      'cpt',
      ...common,
      '--lr',
      '3e3',
      '--save-every',
      '1',
      '-o',
      out,
      '-q',
    ]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^loralab: (DivergenceError|CollapseError): steps? \d+/m);
    expect(existsSync(join(out, 'final'))).toBe(false);
    expect(existsSync(join(out, 'train_result.json'))).toBe(false);
    // Every checkpoint left holds weights within the default bound |w| <= 1e4.
    const ckpts = existsSync(join(out, 'checkpoints')) ? readdirSync(join(out, 'checkpoints')) : [];
    for (const c of ckpts)
      expect(maxAbs(join(out, 'checkpoints', c, 'model.safetensors')), c).toBeLessThanOrEqual(1e4);
  });
});

/** Largest |w| of a float32 safetensors file (NaN and ±Inf count as Infinity). */
function maxAbs(file: string): number {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<
    string,
    { dtype: string; data_offsets: [number, number] }
  >;
  let m = 0;
  for (const [k, v] of Object.entries(header)) {
    if (k === '__metadata__') continue;
    expect(v.dtype).toBe('F32');
    const [a, b] = v.data_offsets;
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset + 8 + n + a, buf.byteOffset + 8 + n + b));
    for (const x of data) m = Number.isFinite(x) ? Math.max(m, Math.abs(x)) : Infinity;
  }
  return m;
}
