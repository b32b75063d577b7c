// The model commands end to end on a tiny Llama: pretrain, finetune (LoRA and full, IFT and CPT), rank, every
// eval task with a model and an adapter, and an interrupted run that exits 130 and resumes.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run, SHARED_DATA, tempDir } from './helpers.js';

const dir = tempDir();
const hellaswag = join(SHARED_DATA, 'hellaswag/hellaswag_val_sample1000.jsonl');
const gsm8k = join(SHARED_DATA, 'gsm8k');
const haveShared = existsSync(hellaswag) && existsSync(join(gsm8k, 'test.jsonl'));
if (!haveShared)
  console.warn(`skipping the real-benchmark eval test: ${SHARED_DATA} (../shared/data) is absent`);
const tok = join(dir, 'tok');
const base = join(dir, 'base');
const backend = ['--backend', 'wasm'];
const tiny = ['--hidden-size', '32', '--layers', '2', '--heads', '2'];

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
    '300',
    '--vocab-size',
    '400',
    '-o',
    tok,
  ]);
  await ok([
    'data',
    'prepare',
    '-t',
    tok,
    '--corpus',
    'gsm8k-style',
    '--count',
    '60',
    '-o',
    join(dir, 'text'),
  ]);
  await ok([
    'data',
    'prepare',
    '-t',
    tok,
    '--corpus',
    'gsm8k-style',
    '--count',
    '16',
    '--kind',
    'chat',
    '-o',
    join(dir, 'chat'),
  ]);
  const out = await ok([
    'pretrain',
    '-t',
    tok,
    '--data',
    join(dir, 'text'),
    '-o',
    base,
    ...tiny,
    ...backend,
    '--seq-len',
    '32',
    '--batch-size',
    '4',
    '--steps',
    '4',
    '--lr',
    '1e-2',
  ]);
  expect(out).toMatch(/^trained 4 steps, 512 tokens in .*: loss \d+\.\d{4} -> .*base\/final\n$/);
}, 120_000);

describe('pretrain', { timeout: 60_000 }, () => {
  it('writes a complete model folder with the tokenizer and the run files', () => {
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
      expect(existsSync(join(base, 'final', f)), f).toBe(true);
    }
    const config = JSON.parse(readFileSync(join(base, 'final', 'config.json'), 'utf8'));
    expect([config.hidden_size, config.num_hidden_layers, config.vocab_size]).toEqual([32, 2, 400]);
    expect(readFileSync(join(base, 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBeGreaterThan(0);
    const runConfig = JSON.parse(readFileSync(join(base, 'config.json'), 'utf8'));
    expect(runConfig.optimizer.lr).toBe(1e-2);
    expect(runConfig.model.init.hidden_size).toBe(32);
  });
});

describe('finetune, rank and eval', { timeout: 60_000 }, () => {
  const lora = join(dir, 'lora');
  const fft = join(dir, 'fft');

  beforeAll(async () => {
    const common = ['--model', join(base, 'final'), ...backend, '--batch-size', '2', '--steps', '2'];
    await ok([
      'finetune',
      '--method',
      'lora',
      '--task',
      'ift',
      '--data',
      join(dir, 'chat'),
      '--seq-len',
      '200',
      '--rank',
      '4',
      '-o',
      lora,
      ...common,
    ]);
    await ok([
      'finetune',
      '--method',
      'full',
      '--task',
      'cpt',
      '--data',
      join(dir, 'text'),
      '--seq-len',
      '32',
      '--weight-decay',
      '0.1',
      '-o',
      fft,
      ...common,
    ]);
  }, 120_000);

  it('finetune writes a PEFT adapter (lora) or a model folder (full) with the resolved config', () => {
    expect(readdirSync(join(lora, 'final')).sort()).toEqual([
      'adapter_config.json',
      'adapter_model.safetensors',
      'checksums.json',
    ]);
    const adapter = JSON.parse(readFileSync(join(lora, 'final', 'adapter_config.json'), 'utf8'));
    expect([adapter.r, adapter.lora_alpha]).toEqual([4, 8]);
    expect(existsSync(join(fft, 'final', 'tokenizer.json'))).toBe(true);
    const fftConfig = JSON.parse(readFileSync(join(fft, 'config.json'), 'utf8'));
    expect([
      fftConfig.method,
      fftConfig.task,
      fftConfig.optimizer.lr,
      fftConfig.optimizer.weightDecay,
    ]).toEqual(['full', 'cpt', 1e-4, 0.1]);
    const loraConfig = JSON.parse(readFileSync(join(lora, 'config.json'), 'utf8'));
    expect(loraConfig.optimizer.lr).toBe(1e-3);
  });

  it('rank analyses ΔW of the adapter and of the full finetune', async () => {
    const a = await ok([
      'rank',
      '--base',
      join(base, 'final'),
      '--adapter',
      join(lora, 'final'),
      '--modules',
      'q_proj,down_proj',
    ]);
    expect(a).toMatch(/^adapter: ΔW of 4 matrices/);
    const rows = a.trim().split('\n').slice(2);
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(['q_proj', 'down_proj']);
    for (const row of rows) expect(Number(row.split(/\s+/)[2])).toBeLessThanOrEqual(4); // rank(BA) <= r
    const out = join(dir, 'rank-fft');
    const f = await ok([
      'rank',
      '--base',
      join(base, 'final'),
      '--finetuned',
      join(fft, 'final'),
      '--no-vectors',
      '-o',
      out,
    ]);
    expect(f).toMatch(/^full finetune: ΔW of 14 matrices/);
    expect(readdirSync(out).sort()).toEqual([
      'explained-variance.svg',
      'rank-by-layer.svg',
      'report.csv',
      'report.json',
      'spectra.json',
      'spectra.svg',
    ]);
  });

  it('eval perplexity, mc, gsm8k and humaneval run a model with an adapter', async () => {
    const model = ['--model', join(base, 'final'), '--adapter', join(lora, 'final'), ...backend];
    const out = join(dir, 'eval');
    const ppl = await ok([
      'eval',
      'perplexity',
      ...model,
      '--corpus',
      'gsm8k-style',
      '--count',
      '3',
      '-o',
      out,
    ]);
    expect(ppl).toMatch(
      /^perplexity: 3 documents, \d+ tokens: token_perplexity [\d.]+ {2}word_perplexity [\d.]+ {2}byte_perplexity [\d.]+ {2}bits_per_byte [\d.]+\n$/,
    );
    const scores = JSON.parse(readFileSync(join(out, 'perplexity.json'), 'utf8'));
    expect(scores.scores.bits_per_byte).toBeCloseTo(Math.log2(scores.scores.byte_perplexity), 10);
    const mc = await ok([
      'eval',
      'mc',
      ...model,
      '--corpus',
      'brown',
      '--categories',
      'r',
      '--limit',
      '3',
      '--context-chars',
      '60',
      '--continuation-chars',
      '30',
    ]);
    expect(mc).toMatch(/^mc continuation: 3 items: acc [\d.]+ {2}acc_norm [\d.]+\n$/);
    const gsm = await ok([
      'eval',
      'gsm8k',
      ...model,
      '--corpus',
      'gsm8k-style',
      '--count',
      '2',
      '--shots',
      '1',
      '--max-new-tokens',
      '4',
      '-o',
      out,
    ]);
    expect(gsm).toMatch(/^gsm8k: 2 problems, 1-shot: strict_match [\d.]+ {2}flexible_extract [\d.]+\n$/);
    expect(JSON.parse(readFileSync(join(out, 'gsm8k.json'), 'utf8')).items).toHaveLength(2);
    const he = await ok([
      'eval',
      'humaneval',
      ...model,
      '--corpus',
      'humaneval-style',
      '--count',
      '2',
      '--n',
      '2',
      '--max-new-tokens',
      '4',
      '--k',
      '1,2',
      '--token-healing',
      '-o',
      out,
    ]);
    expect(he).toMatch(
      /^humaneval: 2 problems x 2 samples: pass@1 [\d.]+ {2}pass@2 [\d.]+ {2}unique [\d.]+ {2}unique_normalized [\d.]+\n$/,
    );
    expect(
      readFileSync(join(out, 'humaneval_samples.jsonl_results.jsonl'), 'utf8').trim().split('\n'),
    ).toHaveLength(4);
  });

  it.skipIf(!haveShared)('eval mc and gsm8k read the real HellaSwag and GSM8K files', async () => {
    const model = ['--model', join(base, 'final'), ...backend];
    const mc = await ok([
      'eval',
      'mc',
      ...model,
      '--task',
      'hellaswag',
      '--items',
      hellaswag,
      '--limit',
      '2',
    ]);
    expect(mc).toMatch(/^mc hellaswag: 2 items: acc (0|0\.5000|1) {2}acc_norm (0|0\.5000|1)\n$/);
    const gsm = await ok([
      'eval',
      'gsm8k',
      ...model,
      '--test',
      join(gsm8k, 'test.jsonl'),
      '--train',
      join(gsm8k, 'train.jsonl'),
      '--limit',
      '1',
      '--shots',
      '2',
      '--max-new-tokens',
      '4',
    ]);
    expect(gsm).toBe('gsm8k: 1 problems, 2-shot: strict_match 0  flexible_extract 0\n');
  });

  it('names a model folder that is not one (exit 4)', async () => {
    const r = await run([
      'eval',
      'perplexity',
      '--model',
      join(dir, 'chat'),
      '--tokenizer',
      tok,
      '--corpus',
      'brown',
      ...backend,
    ]);
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(
      `loralab: DataError: ${join(dir, 'chat')}: no config.json: expected a model folder (config.json + model.safetensors)\n`,
    );
    const adapter = await run([
      'eval',
      'perplexity',
      '--model',
      join(base, 'final'),
      '--adapter',
      base,
      '--corpus',
      'brown',
      ...backend,
    ]);
    expect(adapter.code).toBe(4);
    expect(adapter.stderr).toContain('no adapter_config.json: expected a PEFT adapter folder');
  });
});

describe('interrupting and resuming', { timeout: 60_000 }, () => {
  it('an aborted finetune saves a checkpoint, exits 130, and the rerun resumes from it', async () => {
    const out = join(dir, 'interrupted');
    const argv = [
      'finetune',
      '--method',
      'full',
      '--task',
      'cpt',
      '--model',
      join(base, 'final'),
      '--data',
      join(dir, 'text'),
      '--seq-len',
      '32',
      '--batch-size',
      '2',
      '--steps',
      '3',
      '-o',
      out,
      ...backend,
    ];
    const controller = new AbortController();
    controller.abort(new DOMException('interrupted by SIGINT', 'AbortError'));
    const r = await run(argv, { signal: controller.signal });
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('loralab: interrupted');
    expect(readdirSync(join(out, 'checkpoints'))).toEqual(['step-1']);
    const again = await run(argv);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^trained 3 steps, .* \(resumed from .*step-1\)/);
  });

  it('a config the trainer rejects exits 3 and names the key', async () => {
    const r = await run([
      'finetune',
      '--method',
      'lora',
      '--task',
      'cpt',
      '--model',
      join(base, 'final'),
      '--data',
      join(dir, 'text'),
      '-o',
      join(dir, 'never'),
      '--set',
      'optimizer.learning_rate=1',
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^loralab: ConfigError: .*learning_rate/);
  });

  it('a real SIGINT stops training at a consistent point and the process exits 130', async () => {
    const out = join(dir, 'sigint');
    const main = new URL('../src/main.ts', import.meta.url).pathname;
    const root = new URL('../../../', import.meta.url).pathname;
    // One process (node --import tsx, as the root `loralab` script runs it), so the signal reaches the command.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@loralab/source',
        main,
        'finetune',
        '--method',
        'full',
        '--task',
        'cpt',
        '--model',
        join(base, 'final'),
        '--data',
        join(dir, 'text'),
        '--seq-len',
        '32',
        '--batch-size',
        '2',
        '--steps',
        '100000',
        '--log-every',
        '1',
        '--verbose',
        '-o',
        out,
        ...backend,
      ],
      { cwd: root },
    );
    let stderr = '';
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/step 2 loss/.test(stderr) && !child.killed) child.kill('SIGINT');
      });
      child.on('close', (c) => resolve(c));
    });
    expect(code, stderr).toBe(130);
    expect(stderr, stderr).toContain('loralab: interrupted; stopping at the next consistent point');
    const checkpoints = readdirSync(join(out, 'checkpoints'));
    expect(checkpoints).toHaveLength(1);
    const state = JSON.parse(
      readFileSync(join(out, 'checkpoints', checkpoints[0]!, 'trainer_state.json'), 'utf8'),
    );
    expect(state.step).toBeGreaterThanOrEqual(2);
  });
});
