// Model-level behaviour: the parameter report, enable/disable, several adapters, merge_and_unload, modules_to_save.
import { ConfigError, Linear, LlamaForCausalLM } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LoraConfig, LoraLinear, LoraModel } from '../src/index.js';
import { expectClose, IDS, TINY, take, useCpu } from './helpers.js';

beforeAll(useCpu);

let model: LlamaForCausalLM;
let before: number;
beforeEach(() => {
  before = tf.memory().numTensors;
  model = new LlamaForCausalLM(TINY, { seed: 11 });
});
afterEach(() => {
  model.dispose();
  expect(tf.memory().numTensors, 'tensors leaked by the test').toBe(before);
});

function modelParameterCount(m: LlamaForCausalLM): number {
  return [...m.parameters().values()].reduce((n, p) => n + p.variable.size, 0);
}

describe('trainable parameter report', () => {
  it('equals the closed form Σ r·(in + out) over adapted linears, plus out per DoRA magnitude', () => {
    const d = TINY.hidden_size;
    const kv = (TINY.num_key_value_heads * d) / TINY.num_attention_heads; // k/v output width
    const f = TINY.intermediate_size;
    // (in, out) of q, k, v, o, gate, up, down
    const shapes = [
      [d, d],
      [d, kv],
      [d, kv],
      [d, d],
      [d, f],
      [d, f],
      [f, d],
    ] as const;
    const rankOf = (i: number) => (i === 6 ? 2 : 4); // rank_pattern: down_proj -> 2
    let closed = 0;
    for (let l = 0; l < TINY.num_hidden_layers; l++) {
      shapes.forEach(([inp, out], i) => {
        closed += rankOf(i) * (inp + out) + out; // A, B, DoRA magnitude
      });
    }
    const base = modelParameterCount(model);
    const lora = new LoraModel(model, {
      target_modules: 'all-linear',
      r: 4,
      use_dora: true,
      rank_pattern: { down_proj: 2 },
    });
    const report = lora.trainableParameterReport();
    expect(report.trainable).toBe(closed);
    expect(report.all).toBe(base + closed);
    expect(report.percent).toBeCloseTo((100 * closed) / (base + closed), 10);
    expect(report.text).toBe(
      `trainable params: ${closed.toLocaleString('en-US')} || all params: ${(base + closed).toLocaleString('en-US')} || trainable%: ${report.percent.toFixed(4)}`,
    );
    // a second, inactive adapter counts in `all` but not in `trainable`
    lora.addAdapter('other', { target_modules: ['q_proj'], r: 2 });
    const extra = TINY.num_hidden_layers * 2 * (d + d);
    expect(lora.trainableParameterReport()).toMatchObject({ trainable: closed, all: base + closed + extra });
    lora.unload();
  });

  it('freezes every base weight', () => {
    const lora = new LoraModel(model, { target_modules: ['q_proj'] });
    expect([...model.parameters().values()].every((p) => !p.variable.trainable)).toBe(true);
    expect(lora.trainableParameters().map((p) => p.name)).toEqual([
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight',
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.default.weight',
      'base_model.model.model.layers.1.self_attn.q_proj.lora_A.default.weight',
      'base_model.model.model.layers.1.self_attn.q_proj.lora_B.default.weight',
    ]);
    lora.unload();
  });
});

describe('enable and disable', () => {
  it('disabled adapters give the base logits exactly; enabling restores the adapted ones', () => {
    const base = take(model.forward(IDS));
    const lora = new LoraModel(model, { target_modules: 'all-linear', init_lora_weights: false });
    const adapted = take(model.forward(IDS));
    expect(adapted).not.toEqual(base);
    lora.disableAdapterLayers();
    expect(take(model.forward(IDS))).toEqual(base);
    lora.enableAdapterLayers();
    expect(take(model.forward(IDS))).toEqual(adapted);
    expect(lora.withAdapterDisabled(() => take(model.forward(IDS)))).toEqual(base);
    expect(take(model.forward(IDS))).toEqual(adapted);
    lora.unload();
  });

  it('disabling a merged model unmerges first, as PEFT does', () => {
    const base = take(model.forward(IDS));
    const lora = new LoraModel(model, { target_modules: ['v_proj'], init_lora_weights: false });
    lora.merge();
    lora.disableAdapterLayers();
    expect(lora.merged()).toBe(false);
    expectClose(take(model.forward(IDS)), base, { atol: 1e-6 }, 'base after unmerge');
    lora.unload();
  });
});

describe('several named adapters', () => {
  it('set_adapter switches which adapter runs and trains', () => {
    const configs: Record<string, Partial<LoraConfig>> = {
      a: { target_modules: ['q_proj', 'v_proj'], init_lora_weights: false, r: 2 },
      b: { target_modules: ['v_proj', 'down_proj'], init_lora_weights: false, r: 3, use_dora: true },
    };
    // each adapter alone
    const alone: Record<string, Float32Array> = {};
    for (const [name, c] of Object.entries(configs)) {
      const l = new LoraModel(model, c, name, { seed: name === 'a' ? 1 : 2 });
      alone[name] = take(model.forward(IDS));
      l.unload();
    }
    const lora = new LoraModel(model, configs.a!, 'a', { seed: 1 });
    lora.addAdapter('b', configs.b!, { seed: 2 });
    expect(lora.activeAdapter).toBe('a');
    expect(take(model.forward(IDS))).toEqual(alone.a);
    expect(lora.trainableParameters().every((p) => p.name.includes('.a.weight'))).toBe(true);
    lora.setAdapter('b');
    expect(take(model.forward(IDS))).toEqual(alone.b);
    expect(lora.trainableParameters().every((p) => p.name.includes('.b.weight'))).toBe(true);
    expect(lora.targetedModules('b')).toEqual([
      'model.layers.0.self_attn.v_proj',
      'model.layers.0.mlp.down_proj',
      'model.layers.1.self_attn.v_proj',
      'model.layers.1.mlp.down_proj',
    ]);
    lora.deleteAdapter('b');
    expect(lora.activeAdapter).toBe('a');
    expect(model.getProjection('model.layers.0.mlp.down_proj')).toBeInstanceOf(Linear); // wrapper removed
    expect(model.getProjection('model.layers.0.self_attn.v_proj')).toBeInstanceOf(LoraLinear); // still holds 'a'
    expect(take(model.forward(IDS))).toEqual(alone.a);
    expect(() => lora.setAdapter('b')).toThrow(ConfigError);
    expect(() => lora.addAdapter('a', {})).toThrow(ConfigError);
    lora.unload();
  });
});

describe('merge_and_unload and unload', () => {
  it('merge_and_unload leaves a plain model with the adapted logits', () => {
    const lora = new LoraModel(model, {
      target_modules: 'all-linear',
      init_lora_weights: false,
      use_dora: true,
    });
    const adapted = take(model.forward(IDS));
    const plain = lora.mergeAndUnload();
    expect(plain).toBe(model);
    expect(model.projectionNames().every((n) => model.getProjection(n) instanceof Linear)).toBe(true);
    expect(model.trainableParameters()).toHaveLength(0);
    expectClose(take(model.forward(IDS)), adapted, { atol: 2e-5, rtol: 1e-5 }, 'merged logits');
    expect(lora.adapterNames()).toEqual([]);
  });

  it('unload restores the base model without merging', () => {
    const base = take(model.forward(IDS));
    const lora = new LoraModel(model, { target_modules: 'all-linear', init_lora_weights: false });
    lora.unload();
    expect(take(model.forward(IDS))).toEqual(base);
  });
});

describe('modules_to_save', () => {
  it('trains a copy of lm_head; disabled adapters use the original; merge_and_unload keeps the copy', () => {
    const base = take(model.forward(IDS));
    const lora = new LoraModel(model, { target_modules: ['q_proj'], modules_to_save: ['lm_head'] });
    expect(lora.savedModules()).toEqual(['lm_head']);
    const copy = lora
      .trainableParameters()
      .find((p) => p.name === 'base_model.model.lm_head.modules_to_save.default.weight')!;
    expect(copy).toBeDefined();
    tf.tidy(() => copy.variable.assign(tf.mul(copy.variable, 2)));
    const adapted = take(model.forward(IDS));
    expect(adapted).not.toEqual(base);
    expect(lora.withAdapterDisabled(() => take(model.forward(IDS)))).toEqual(base);
    lora.mergeAndUnload();
    expect(take(model.forward(IDS))).toEqual(adapted);
  });

  it('refuses a module that is also a LoRA target', () => {
    expect(() => new LoraModel(model, { target_modules: ['lm_head'], modules_to_save: ['lm_head'] })).toThrow(
      /both LoRA targets and modules_to_save/,
    );
    expect(model.projectionNames().every((n) => model.getProjection(n) instanceof Linear)).toBe(true);
  });
});

describe('dropout and errors', () => {
  it('lora_dropout acts in training only, with the forward seed', () => {
    const lora = new LoraModel(model, {
      target_modules: 'all-linear',
      init_lora_weights: false,
      lora_dropout: 0.5,
    });
    const evalA = take(model.forward(IDS));
    expect(take(model.forward(IDS))).toEqual(evalA);
    const trainA = take(model.forward(IDS, { training: true, seed: 1 }));
    const trainB = take(model.forward(IDS, { training: true, seed: 2 }));
    expect(trainA).not.toEqual(evalA);
    expect(trainA).not.toEqual(trainB);
    expect(take(model.forward(IDS, { training: true, seed: 1 }))).toEqual(trainA);
    lora.unload();
  });

  it('gradient checkpointing redraws the same LoRA dropout masks: same gradients with and without it', () => {
    const lora = new LoraModel(model, {
      target_modules: 'all-linear',
      init_lora_weights: false,
      lora_dropout: 0.3,
      use_dora: true,
    });
    const run = (checkpoint: boolean) => {
      const { loss, grads } = model.lossAndGradients(IDS, IDS, { seed: 5, checkpoint });
      const out = new Map([...grads].map(([k, g]) => [k, g.dataSync().slice()]));
      const value = loss.dataSync()[0]!;
      tf.dispose([loss, ...grads.values()]);
      return { value, out };
    };
    const plain = run(false);
    const checkpointed = run(true);
    expect(checkpointed.value).toBeCloseTo(plain.value, 4);
    expect(checkpointed.out.size).toBe(lora.trainableParameters().length);
    for (const [k, g] of plain.out) expectClose(checkpointed.out.get(k)!, g, { atol: 1e-5, rtol: 1e-4 }, k);
    lora.unload();
  });

  it('names what is wrong', () => {
    const lora = new LoraModel(model, { target_modules: ['q_proj'] });
    expect(() => lora.deltaWeight('model.layers.0.mlp.up_proj')).toThrow(/carries no LoRA adapter/);
    expect(() => lora.merge(['nope'])).toThrow(ConfigError);
    lora.unload();
    const tied = new LlamaForCausalLM({ ...TINY, tie_word_embeddings: true }, { seed: 1 });
    const t = new LoraModel(tied, { target_modules: ['lm_head'] });
    expect(() => t.merge()).toThrow(/tied/);
    t.unload();
    expect(() => new LoraModel(tied, { target_modules: ['lm_head'], init_lora_weights: 'pissa' })).toThrow(
      /tied/,
    );
    // PiSSA with r above a module's smaller side fails before any weight is rewritten
    const w0 = model.parameter('model.layers.0.self_attn.q_proj.weight').variable.dataSync().slice();
    expect(
      () => new LoraModel(model, { target_modules: ['q_proj', 'k_proj'], r: 12, init_lora_weights: 'pissa' }),
    ).toThrow(/min\(in, out\) = 8/);
    expect(model.parameter('model.layers.0.self_attn.q_proj.weight').variable.dataSync()).toEqual(w0);
    const all = new LoraModel(tied, { target_modules: 'all-linear' });
    expect(all.targetedModules()).not.toContain('lm_head');
    all.unload();
    tied.dispose();
  });
});
