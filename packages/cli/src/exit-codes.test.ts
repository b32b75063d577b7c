import { ConfigError as DataConfigError, DataError } from '@loralab/data';
import { SandboxError } from '@loralab/eval';
import { CheckpointError, ConfigError as ModelConfigError } from '@loralab/model';
import { TokenizerError } from '@loralab/tokenizer';
import { TrainingError } from '@loralab/train';
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
    expect(exitCodeFor(new TrainingError('x', 3, 'non-finite-loss', null))).toBe(5);
    expect(exitCodeFor(new TrainingError('x', 3, 'aborted', 'ckpt'))).toBe(130);
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
