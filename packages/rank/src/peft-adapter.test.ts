import { describe, expect, it } from 'vitest';
import { DataError } from './errors.js';
import { loraModules, loraScaling, parsePeftAdapterConfig } from './peft-adapter.js';
import { parseModuleName } from './weight-source.js';

describe('PEFT adapter_config.json and keys', () => {
  const config = parsePeftAdapterConfig({
    r: 16,
    lora_alpha: 32,
    target_modules: ['q_proj', 'v_proj'],
    rank_pattern: { 'layers.3.self_attn.q_proj': 64, v_proj: 8 },
    alpha_pattern: { v_proj: 4 },
  });

  it('computes alpha / r, with rank_pattern and alpha_pattern overrides matched on the module path', () => {
    expect(loraScaling(config, 'model.layers.0.self_attn.q_proj')).toEqual({ r: 16, alpha: 32, scaling: 2 });
    expect(loraScaling(config, 'model.layers.3.self_attn.q_proj')).toEqual({
      r: 64,
      alpha: 32,
      scaling: 0.5,
    });
    expect(loraScaling(config, 'model.layers.13.self_attn.q_proj').r).toBe(16); // "layers.3" must not match "layers.13"
    expect(loraScaling(config, 'model.layers.1.self_attn.v_proj')).toEqual({ r: 8, alpha: 4, scaling: 0.5 });
    expect(loraScaling(config, 'model.layers.1.self_attn.xv_proj').r).toBe(16); // a key matches whole path components
  });

  it('uses alpha / sqrt(r) with use_rslora', () => {
    const rs = parsePeftAdapterConfig({ r: 16, lora_alpha: 8, use_rslora: true });
    expect(loraScaling(rs, 'model.layers.0.mlp.up_proj').scaling).toBe(2);
  });

  it('rejects malformed configs', () => {
    expect(() => parsePeftAdapterConfig({ lora_alpha: 8 })).toThrow(DataError);
    expect(() => parsePeftAdapterConfig({ r: 8, lora_alpha: 8, rank_pattern: { q: 'x' } })).toThrow(
      /rank_pattern/,
    );
    expect(() => parsePeftAdapterConfig([])).toThrow(/JSON object/);
  });

  it('pairs lora_A with lora_B and maps to the base key', () => {
    const names = [
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight',
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight',
      'base_model.model.lm_head.weight',
    ];
    expect(loraModules(names)).toEqual([
      {
        path: 'model.layers.0.self_attn.q_proj',
        baseKey: 'model.layers.0.self_attn.q_proj.weight',
        aKey: names[0],
        bKey: names[1],
      },
    ]);
    expect(() => loraModules([names[0]!])).toThrow(/no base_model/);
  });

  it('parses Llama module keys', () => {
    expect(parseModuleName('model.layers.12.mlp.down_proj.weight')).toEqual({
      path: 'model.layers.12.mlp.down_proj',
      layer: 12,
      block: 'mlp',
      module: 'down_proj',
    });
    expect(parseModuleName('model.embed_tokens.weight')).toBeNull();
  });
});
