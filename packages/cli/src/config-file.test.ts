import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers.js';
import {
  ANY_KEYS,
  applyOverrides,
  deepMerge,
  type KeyTemplate,
  loadConfigFile,
  parseOverride,
  rejectUnknownKeys,
  setPath,
} from './config-file.js';
import { ConfigError } from './errors.js';

const dir = tempDir();

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function thrown(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfigFile', () => {
  it('reads JSON and YAML into the same object', () => {
    const json = write('a.json', '{"optimizer": {"name": "adamw", "lr": 0.0001}, "lora": {"r": 16}}');
    const yaml = write('a.yaml', 'optimizer:\n  name: adamw\n  lr: 1e-4\nlora:\n  r: 16\n');
    expect(loadConfigFile(yaml)).toEqual(loadConfigFile(json));
    expect(loadConfigFile(yaml)).toEqual({ optimizer: { name: 'adamw', lr: 1e-4 }, lora: { r: 16 } });
  });

  it('names the file and line of a syntax error', () => {
    const badJson = write('bad.json', '{\n  "a": 1,\n  "b": 2\n  "c": 3\n}\n');
    const e = thrown(() => loadConfigFile(badJson));
    expect(e.file).toBe(badJson);
    expect(e.line).toBe(4);
    expect(e.message).toMatch(/bad\.json:4: not valid JSON/);
    const badYaml = write('bad.yaml', 'a: 1\nb: [1, 2\nc: 3\n');
    const y = thrown(() => loadConfigFile(badYaml));
    expect(y.message).toMatch(/bad\.yaml:\d+: not valid YAML/);
    expect(y.line).toBeGreaterThanOrEqual(2);
  });

  it('rejects duplicate YAML keys, a non-mapping top level and a missing file', () => {
    expect(thrown(() => loadConfigFile(write('dup.yaml', 'a: 1\na: 2\n'))).message).toMatch(/not valid YAML/);
    expect(thrown(() => loadConfigFile(write('list.yaml', '- 1\n- 2\n'))).message).toMatch(/found a list/);
    expect(thrown(() => loadConfigFile(join(dir, 'missing.yaml'))).message).toMatch(
      /cannot read the config file/,
    );
  });

  it('reads an empty file as an empty config', () => {
    expect(loadConfigFile(write('empty.yaml', '# nothing\n'))).toEqual({});
  });
});

describe('parseOverride', () => {
  it('types values as YAML does', () => {
    expect(parseOverride('optimizer.lr=1e-4')).toEqual({ path: ['optimizer', 'lr'], value: 1e-4 });
    expect(parseOverride('steps=100').value).toBe(100);
    expect(parseOverride('shuffle=false').value).toBe(false);
    expect(parseOverride('eval=null').value).toBeNull();
    expect(parseOverride('ranks=[4, 16, 64]').value).toEqual([4, 16, 64]);
    expect(parseOverride('lora={r: 8, lora_alpha: 16}').value).toEqual({ r: 8, lora_alpha: 16 });
    expect(parseOverride('name=run-a').value).toBe('run-a');
    expect(parseOverride('name="007"').value).toBe('007');
    expect(parseOverride('note=').value).toBe('');
    expect(parseOverride('url=a=b').value).toBe('a=b');
  });

  it('rejects malformed overrides', () => {
    expect(() => parseOverride('lr')).toThrow(/KEY=VALUE/);
    expect(() => parseOverride('=1')).toThrow(/KEY=VALUE/);
    expect(thrown(() => parseOverride('a..b=1')).key).toBe('a..b');
    expect(() => parseOverride('a=[1, 2')).toThrow(/cannot parse the value/);
  });
});

describe('setPath and applyOverrides', () => {
  it('creates mappings on the way and indexes lists', () => {
    const c: Record<string, unknown> = { arms: [{ lr: 1 }, { lr: 2 }] };
    setPath(c, ['optimizer', 'lr'], 0.5);
    setPath(c, ['arms', '1', 'lr'], 3);
    expect(c).toEqual({ arms: [{ lr: 1 }, { lr: 3 }], optimizer: { lr: 0.5 } });
    expect(() => setPath(c, ['arms', '5', 'lr'], 1)).toThrow(/no such list element/);
    expect(() => setPath(c, ['optimizer', 'lr', 'x'], 1)).toThrow(/not a mapping/);
  });

  it('applies overrides in order on a copy', () => {
    const base = { optimizer: { lr: 1 } };
    const out = applyOverrides(base, [parseOverride('optimizer.lr=2'), parseOverride('optimizer.lr=3')]);
    expect(out).toEqual({ optimizer: { lr: 3 } });
    expect(base).toEqual({ optimizer: { lr: 1 } });
  });

  it('deepMerge merges mappings, replaces the rest and skips undefined', () => {
    expect(deepMerge({ a: { x: 1, y: 2 }, l: [1, 2] }, { a: { y: 3 }, l: [3], u: undefined })).toEqual({
      a: { x: 1, y: 3 },
      l: [3],
    });
  });
});

describe('rejectUnknownKeys', () => {
  const template: KeyTemplate = { data: { train: null, seqLen: null }, lora: ANY_KEYS, steps: null };

  it('names the full key path and the keys known there', () => {
    const e = thrown(() => rejectUnknownKeys({ data: { train: 'x', seqlen: 8 } }, template));
    expect(e.key).toBe('data.seqlen');
    expect(e.message).toBe('config "data.seqlen": unknown key; known keys here: seqLen, train');
    expect(thrown(() => rejectUnknownKeys({ stepz: 1 }, template)).key).toBe('stepz');
  });

  it('accepts known keys and anything under ANY_KEYS', () => {
    expect(() =>
      rejectUnknownKeys({ data: { train: 'x' }, lora: { whatever: 1 }, steps: 3 }, template),
    ).not.toThrow();
  });
});
