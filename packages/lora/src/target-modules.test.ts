import { ConfigError, LlamaForCausalLM } from '@loralab/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY, useCpu } from '../test/helpers.js';
import { type LoraConfig, resolveLoraConfig } from './config.js';
import {
  getPatternKey,
  moduleNames,
  modulesToSave,
  rankAndAlpha,
  resolveTargetModules,
  targetedProjections,
} from './target-modules.js';

let model: LlamaForCausalLM;
beforeAll(async () => {
  await useCpu();
  model = new LlamaForCausalLM({ ...TINY, num_hidden_layers: 3 }, { empty: true });
});
afterAll(() => model.dispose());

function targets(partial: Partial<LoraConfig>): string[] {
  const c = resolveLoraConfig(partial);
  c.target_modules = resolveTargetModules(c, model);
  return targetedProjections(c, model);
}

describe('target_modules', () => {
  it('lists the module names named_modules() would', () => {
    const names = moduleNames(model);
    expect(names).toContain('model.layers.0.self_attn');
    expect(names).toContain('model.embed_tokens');
    expect(names).toContain('lm_head');
    expect(names).toContain('model.layers.2.mlp.down_proj');
  });

  it("defaults to PEFT's Llama choice, q_proj and v_proj", () => {
    expect(targets({})).toEqual(
      [0, 1, 2].flatMap((l) => [`model.layers.${l}.self_attn.q_proj`, `model.layers.${l}.self_attn.v_proj`]),
    );
  });

  it('matches a list entry exactly or as a suffix at a dot, never inside a name', () => {
    expect(targets({ target_modules: ['self_attn.o_proj'] })).toHaveLength(3);
    expect(targets({ target_modules: ['model.layers.1.mlp.up_proj'] })).toEqual([
      'model.layers.1.mlp.up_proj',
    ]);
    expect(targets({ target_modules: ['lm_head'] })).toEqual(['lm_head']);
    // 'proj' is not a dot-suffix of 'q_proj'
    expect(() => targets({ target_modules: ['proj'] })).toThrow(ConfigError);
  });

  it('treats a string as a regex that must match the whole name', () => {
    expect(targets({ target_modules: '.*\\.1\\..*(q|k)_proj' })).toEqual([
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.self_attn.k_proj',
    ]);
    expect(() => targets({ target_modules: 'q_proj' })).toThrow(/match no module/); // not a full match
  });

  it('expands "all-linear" to every linear but lm_head, as a sorted suffix list', () => {
    const c = resolveLoraConfig({ target_modules: 'all-linear' });
    expect(resolveTargetModules(c, model)).toEqual([
      'down_proj',
      'gate_proj',
      'k_proj',
      'o_proj',
      'q_proj',
      'up_proj',
      'v_proj',
    ]);
    const t = targets({ target_modules: 'all-linear' });
    expect(t).toHaveLength(21);
    expect(t).not.toContain('lm_head');
    expect(t).toEqual(model.projectionNames().filter((n) => n !== 'lm_head'));
  });

  it('excludes exclude_modules (list or regex)', () => {
    expect(
      targets({ target_modules: 'all-linear', exclude_modules: ['mlp.down_proj', 'q_proj'] }),
    ).toHaveLength(15);
    expect(targets({ target_modules: ['q_proj'], exclude_modules: '.*layers\\.[01]\\..*' })).toEqual([
      'model.layers.2.self_attn.q_proj',
    ]);
  });

  it('applies layers_to_transform (int or list) and layers_pattern to list targets', () => {
    expect(targets({ target_modules: ['q_proj'], layers_to_transform: 1 })).toEqual([
      'model.layers.1.self_attn.q_proj',
    ]);
    expect(
      targets({
        target_modules: ['q_proj', 'v_proj'],
        layers_to_transform: [0, 2],
        layers_pattern: 'layers',
      }),
    ).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.v_proj',
      'model.layers.2.self_attn.q_proj',
      'model.layers.2.self_attn.v_proj',
    ]);
    expect(() =>
      targets({ target_modules: ['q_proj'], layers_to_transform: [0], layers_pattern: 'blocks' }),
    ).toThrow(/match no module/);
    // an exact name is not filtered by layer (PEFT checks the layer only for suffix matches)
    expect(targets({ target_modules: ['model.layers.2.mlp.up_proj'], layers_to_transform: [0] })).toEqual([
      'model.layers.2.mlp.up_proj',
    ]);
  });

  it('refuses modules that are not linears, naming them', () => {
    expect(() => targets({ target_modules: ['embed_tokens'] })).toThrow(
      /model.embed_tokens', which is not a linear/,
    );
    expect(() => targets({ target_modules: ['mlp'] })).toThrow(ConfigError);
  });
});

describe('rank_pattern and alpha_pattern', () => {
  it("picks an exact key first, then the first regex suffix match (PEFT's get_pattern_key)", () => {
    expect(
      getPatternKey(['q_proj', 'model.layers.0.self_attn.q_proj'], 'model.layers.0.self_attn.q_proj'),
    ).toBe('model.layers.0.self_attn.q_proj');
    expect(getPatternKey(['mlp.down_proj'], 'model.layers.3.mlp.down_proj')).toBe('mlp.down_proj');
    expect(getPatternKey(['layers.1.*v_proj'], 'model.layers.1.self_attn.v_proj')).toBe('layers.1.*v_proj');
    expect(getPatternKey(['_proj'], 'model.layers.1.self_attn.v_proj')).toBeNull(); // must start at a dot
    expect(getPatternKey(['q_proj'], 'model.layers.1.self_attn.v_proj')).toBeNull();
  });

  it('gives per-module rank and alpha', () => {
    const c = resolveLoraConfig({
      r: 8,
      lora_alpha: 16,
      rank_pattern: { down_proj: 2 },
      alpha_pattern: { 'model.layers.0.self_attn.q_proj': 5 },
    });
    expect(rankAndAlpha(c, 'model.layers.0.mlp.down_proj')).toEqual({ r: 2, alpha: 16 });
    expect(rankAndAlpha(c, 'model.layers.0.self_attn.q_proj')).toEqual({ r: 8, alpha: 5 });
    expect(rankAndAlpha(c, 'model.layers.1.self_attn.q_proj')).toEqual({ r: 8, alpha: 16 });
  });
});

describe('modules_to_save', () => {
  it('matches by name suffix and accepts only linears', () => {
    expect(modulesToSave(resolveLoraConfig({ modules_to_save: ['lm_head'] }), model)).toEqual(['lm_head']);
    expect(() => modulesToSave(resolveLoraConfig({ modules_to_save: ['embed_tokens'] }), model)).toThrow(
      /not a linear/,
    );
    expect(modulesToSave(resolveLoraConfig({}), model)).toEqual([]);
  });
});
