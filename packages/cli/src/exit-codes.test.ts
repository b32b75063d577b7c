import { ConfigError as DataConfigError, DataError } from '@loralab/data';
import { SandboxError } from '@loralab/eval';
import { CheckpointError, IntegrityError, ConfigError as ModelConfigError } from '@loralab/model';
import { TokenizerError } from '@loralab/tokenizer';
import { CollapseError, DivergenceError, TrainingError } from '@loralab/train';
import { describe, expect, it } from 'vitest';
import { ConfigError, UsageError } from './errors.js';
import { EXIT_CODES, exitCodeFor } from './exit-codes.js';

describe('exitCodeFor', () => {
  it('maps the named errors of every package by name', () => {
    expect(exitCodeFor(new UsageError('x'))).toBe(2);
    expect(exitCodeFor(new ConfigError('a.b', 'x'))).toBe(3);
    expect(exitCodeFor(new DataConfigError('a', 'x'))).toBe(3);
    expect(exitCodeFor(new ModelConfigError('x', 'hidden_size'))).toBe(3);
    expect(exitCodeFor(new DataError('x', { file: 'f', line: 2 }))).toBe(4);
    expect(exitCodeFor(new TokenizerError('x'))).toBe(4);
    expect(exitCodeFor(new CheckpointError('x', 'model.safetensors'))).toBe(4);
    expect(exitCodeFor(new IntegrityError('x', 'model.safetensors', 'w', 'a', 'b'))).toBe(4);
    expect(exitCodeFor(new TrainingError('x', 3, 'non-finite-loss', null))).toBe(5);
    expect(exitCodeFor(new TrainingError('x', 3, 'aborted', 'ckpt'))).toBe(130);
    const d = { step: 3, lastCheckpoint: null, fromStep: 1, toStep: 3, value: 0, bound: 0 } as const;
    expect(exitCodeFor(new DivergenceError('x', { ...d, reason: 'diverged', metric: 'loss' }))).toBe(5);
    expect(exitCodeFor(new CollapseError('x', { ...d, reason: 'collapsed', metric: 'grad_norm' }))).toBe(5);
    expect(exitCodeFor(new SandboxError('x'))).toBe(1);
    expect(exitCodeFor(new Error('x'))).toBe(1);
    expect(exitCodeFor('a string')).toBe(1);
  });

  it('keeps the documented values', () => {
    expect(EXIT_CODES).toEqual({
      ok: 0,
      failure: 1,
      usage: 2,
      config: 3,
      data: 4,
      training: 5,
      interrupted: 130,
    });
  });
});

describe('formatError', () => {
  it('prints one line with the structured fields the message lacks; --verbose adds the stack and causes', async () => {
    const { formatError } = await import('./main.js');
    const e = new ModelConfigError(
      'config.hidden_size must be a positive integer, found 0',
      'hidden_size',
      0,
    );
    expect(formatError(e, false)).toBe(
      'loralab: ConfigError: config.hidden_size must be a positive integer, found 0\n',
    );
    const c = new CheckpointError('tensor has the wrong shape', 'runs/x/model.safetensors', 'lm_head.weight');
    expect(formatError(c, false)).toBe(
      'loralab: CheckpointError: tensor has the wrong shape (key lm_head.weight, path runs/x/model.safetensors)\n',
    );
    const d = new DataError('bad line', {
      file: 'a.jsonl',
      line: 3,
      cause: new SyntaxError('Unexpected token'),
    });
    expect(formatError(d, false)).toBe(
      'loralab: DataError: a.jsonl:3: bad line\nRun again with --verbose for details.\n',
    );
    const verbose = formatError(d, true);
    expect(verbose.split('\n')[0]).toBe('loralab: DataError: a.jsonl:3: bad line');
    expect(verbose).toMatch(/\n {4}at /);
    expect(verbose).toContain('caused by: SyntaxError: Unexpected token');
    expect(formatError(new UsageError('missing --model DIR', 'eval gsm8k'), false)).toBe(
      "loralab: missing --model DIR\nRun 'loralab eval gsm8k --help' for usage.\n",
    );
  });
});
