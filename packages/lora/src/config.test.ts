import { ConfigError } from '@loralab/model';
import { describe, expect, it } from 'vitest';
import {
  LORA_CONFIG_DEFAULTS,
  parseInitLoraWeights,
  resolveLoraConfig,
  toAdapterConfigJson,
} from './config.js';

function configError(f: () => unknown, key: string): ConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).key).toBe(key);
    return e as ConfigError;
  }
  throw new Error(`expected a ConfigError on ${key}`);
}

describe('resolveLoraConfig', () => {
  it("fills PEFT's defaults", () => {
    const c = resolveLoraConfig({});
    expect(c).toEqual(LORA_CONFIG_DEFAULTS);
    expect(c.r).toBe(8);
    expect(c.lora_alpha).toBe(8);
    expect(c.lora_dropout).toBe(0);
    expect(c.init_lora_weights).toBe(true);
    expect(c.bias).toBe('none');
    expect(c.peft_type).toBe('LORA');
    expect(c.task_type).toBe('CAUSAL_LM');
    expect(c).not.toBe(LORA_CONFIG_DEFAULTS);
  });

  it('keeps given values and treats undefined as absent', () => {
    const c = resolveLoraConfig({
      r: undefined,
      lora_alpha: 32,
      lora_dropout: 0.05,
      target_modules: 'all-linear',
    });
    expect([c.r, c.lora_alpha, c.lora_dropout, c.target_modules]).toEqual([8, 32, 0.05, 'all-linear']);
  });

  it('rejects unknown keys in code, warns and goes on when reading a file', () => {
    const e = configError(() => resolveLoraConfig({ rr: 4 } as never), 'rr');
    expect(e.message).toContain("unknown LoraConfig key 'rr'");
    const warnings: string[] = [];
    const c = resolveLoraConfig(
      { r: 4, future_field: { a: 1 } },
      { unknownKeys: 'warn', onWarning: (m) => warnings.push(m), source: 'x.json' },
    );
    expect(c.r).toBe(4);
    expect(warnings).toEqual([
      "x.json: ignoring unknown LoraConfig key 'future_field' (written by a newer PEFT version?)",
    ]);
  });

  it('reports invalid values as ConfigError naming the key and value', () => {
    expect(configError(() => resolveLoraConfig({ r: 0 }), 'r').message).toContain(
      'must be a positive integer, found 0',
    );
    configError(() => resolveLoraConfig({ r: 2.5 }), 'r');
    configError(() => resolveLoraConfig({ lora_dropout: 1 }), 'lora_dropout');
    configError(() => resolveLoraConfig({ lora_alpha: Number.NaN }), 'lora_alpha');
    configError(() => resolveLoraConfig({ target_modules: [1] as never }), 'target_modules');
    configError(() => resolveLoraConfig({ target_modules: '(' }), 'target_modules');
    configError(() => resolveLoraConfig({ peft_type: 'IA3' as never }), 'peft_type');
    configError(() => resolveLoraConfig({ task_type: 'SEQ_CLS' as never }), 'task_type');
    configError(() => resolveLoraConfig({ rank_pattern: { q_proj: 0 } }), 'rank_pattern.q_proj');
    configError(() => resolveLoraConfig({ alpha_pattern: { q_proj: 'x' as never } }), 'alpha_pattern.q_proj');
    configError(() => resolveLoraConfig({ use_dora: 'yes' as never }), 'use_dora');
    configError(() => resolveLoraConfig({ layers_to_transform: [-1] }), 'layers_to_transform');
    configError(() => resolveLoraConfig({ bias: 'some' as never }), 'bias');
    configError(() => resolveLoraConfig({ init_lora_weights: 'uniform' as never }), 'init_lora_weights');
  });

  it('refuses a lora_alpha <= 0, dropout outside [0, 1) and unknown target module names, naming key and file', () => {
    const source = { source: '/runs/a/adapter_config.json' };
    for (const alpha of [-16, 0]) {
      const e = configError(() => resolveLoraConfig({ lora_alpha: alpha }, source), 'lora_alpha');
      expect(e.message).toBe(
        `/runs/a/adapter_config.json: LoraConfig.lora_alpha must be a positive number, found ${alpha}`,
      );
    }
    configError(() => resolveLoraConfig({ alpha_pattern: { q_proj: -2 } }, source), 'alpha_pattern.q_proj');
    configError(() => resolveLoraConfig({ r: -4 }, source), 'r');
    configError(() => resolveLoraConfig({ lora_dropout: -0.1 }, source), 'lora_dropout');
    configError(() => resolveLoraConfig({ lora_dropout: 1.5 }, source), 'lora_dropout');
    const e = configError(
      () => resolveLoraConfig({ target_modules: ['q_proj', 'qv_proj'] }, source),
      'target_modules',
    );
    expect(e.message).toContain('/runs/a/adapter_config.json: LoraConfig.target_modules');
    expect(e.message).toContain(`'qv_proj'`);
    expect(e.message).toContain('q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, lm_head');
    configError(() => resolveLoraConfig({ target_modules: ['self_atn.q_proj'] }), 'target_modules');
    // Every Llama module name, whole or as a dotted suffix, is accepted here (injection checks the rest).
    for (const ok of [['model.layers.1.mlp.up_proj'], ['self_attn.o_proj'], ['lm_head'], ['embed_tokens']]) {
      expect(resolveLoraConfig({ target_modules: ok }).target_modules).toEqual(ok);
    }
  });

  it("applies PEFT's cross-field rules", () => {
    configError(
      () => resolveLoraConfig({ target_modules: '.*q_proj', layers_to_transform: [0] }),
      'layers_to_transform',
    );
    configError(
      () => resolveLoraConfig({ target_modules: '.*q_proj', layers_pattern: 'layers' }),
      'layers_pattern',
    );
    configError(
      () => resolveLoraConfig({ target_modules: ['q_proj'], layers_pattern: 'layers' }),
      'layers_to_transform',
    );
    configError(() => resolveLoraConfig({ exclude_modules: 'all-linear' }), 'exclude_modules');
  });

  it('names PEFT features loralab does not implement', () => {
    expect(resolveLoraConfig({ bias: 'all' }).bias).toBe('all');
    expect(resolveLoraConfig({ bias: 'lora_only' }).bias).toBe('lora_only');
    expect(
      configError(() => resolveLoraConfig({ init_lora_weights: 'olora' as never }), 'init_lora_weights')
        .message,
    ).toContain('does not implement');
    configError(() => resolveLoraConfig({ loftq_config: { loftq_bits: 4 } }), 'loftq_config');
    configError(() => resolveLoraConfig({ layer_replication: [[0, 1]] }), 'layer_replication');
    configError(() => resolveLoraConfig({ lora_bias: true }), 'lora_bias');
    configError(() => resolveLoraConfig({ megatron_config: {} }), 'megatron_config');
    // added-token rows (PEFT TrainableTokens) are refused with what to do
    expect(
      configError(() => resolveLoraConfig({ trainable_token_indices: [40, 41] }), 'trainable_token_indices')
        .message,
    ).toMatch(/TrainableTokens: trained rows of added or chosen tokens .* load the merged folder instead/);
  });

  it('resets fan_in_fan_out to false with a warning, as PEFT does for Linear layers', () => {
    const warnings: string[] = [];
    const c = resolveLoraConfig({ fan_in_fan_out: true }, { onWarning: (m) => warnings.push(m) });
    expect(c.fan_in_fan_out).toBe(false);
    expect(warnings[0]).toContain('fan_in_fan_out');
  });

  it('parses init_lora_weights into a discriminated union', () => {
    expect(parseInitLoraWeights(true)).toEqual({ kind: 'kaiming' });
    expect(parseInitLoraWeights(false)).toEqual({ kind: 'random' });
    expect(parseInitLoraWeights('gaussian')).toEqual({ kind: 'gaussian' });
    expect(parseInitLoraWeights('pissa')).toEqual({ kind: 'pissa', niter: null });
    expect(parseInitLoraWeights('pissa_niter_4')).toEqual({ kind: 'pissa', niter: 4 });
  });

  it('serialises every field sorted by key, as PEFT writes adapter_config.json', () => {
    const json = toAdapterConfigJson(resolveLoraConfig({ r: 4 }));
    const keys = Object.keys(json);
    expect(keys).toEqual([...keys].sort());
    expect(keys).toEqual(Object.keys(LORA_CONFIG_DEFAULTS).sort());
    expect(json.peft_type).toBe('LORA');
    expect(json.task_type).toBe('CAUSAL_LM');
    expect(json.base_model_name_or_path).toBeNull();
  });
});
