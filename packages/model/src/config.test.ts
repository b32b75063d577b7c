import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, readConfigJson, resolveLlamaConfig, writeConfigJson } from './index.js';

const base = {
  vocab_size: 32,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 1,
  num_attention_heads: 4,
};

function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveLlamaConfig', () => {
  it('fills Hugging Face defaults', () => {
    const c = resolveLlamaConfig(base);
    expect(c).toMatchObject({ num_key_value_heads: 4, head_dim: 4, rms_norm_eps: 1e-6, rope_theta: 10000 });
    expect(c.tie_word_embeddings).toBe(false);
    expect(c.rope_scaling).toBeNull();
  });

  it('names the key at fault', () => {
    expect(
      configError(() => resolveLlamaConfig({ ...base, vocab_size: undefined as unknown as number })).key,
    ).toBe('vocab_size');
    expect(configError(() => resolveLlamaConfig({ ...base, num_key_value_heads: 3 })).key).toBe(
      'num_key_value_heads',
    );
    expect(configError(() => resolveLlamaConfig({ ...base, hidden_size: 18 })).key).toBe('hidden_size');
    expect(configError(() => resolveLlamaConfig({ ...base, attention_dropout: 1 })).key).toBe(
      'attention_dropout',
    );
    expect(configError(() => resolveLlamaConfig({ ...base, bos_token_id: 32 })).key).toBe('bos_token_id');
    const e = configError(() =>
      resolveLlamaConfig({ ...base, rope_scaling: { type: 'yarn', factor: 2 } as never }),
    );
    expect(e.key).toBe('rope_scaling.rope_type');
    expect(e.message).toContain("'linear' or 'llama3'");
  });

  it('accepts linear and llama3 rope scaling, with `type` as an alias', () => {
    expect(
      resolveLlamaConfig({ ...base, rope_scaling: { type: 'linear', factor: 2 } as never }).rope_scaling,
    ).toEqual({
      rope_type: 'linear',
      factor: 2,
    });
    const l3 = {
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    } as const;
    expect(resolveLlamaConfig({ ...base, rope_scaling: l3 }).rope_scaling).toEqual(l3);
  });

  it('round-trips config.json and rejects other model types', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
    const c = resolveLlamaConfig({ ...base, num_key_value_heads: 2, eos_token_id: [2, 3] });
    await writeConfigJson(join(dir, 'config.json'), c);
    const json = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    expect(json.model_type).toBe('llama');
    expect(json.architectures).toEqual(['LlamaForCausalLM']);
    expect(await readConfigJson(join(dir, 'config.json'))).toEqual(c);
    await writeFile(join(dir, 'gpt2.json'), JSON.stringify({ ...base, model_type: 'gpt2' }));
    await expect(readConfigJson(join(dir, 'gpt2.json'))).rejects.toThrow(/model_type must be 'llama'/);
  });
});
