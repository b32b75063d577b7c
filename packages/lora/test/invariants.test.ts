// The LoRA invariants, each its own test, on a tiny Llama on the cpu backend.
import { LlamaForCausalLM } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LoraConfig, LoraModel } from '../src/index.js';
import { thinSvd } from '../src/svd.js';
import { expectClose, IDS, TINY, take, useCpu } from './helpers.js';

beforeAll(useCpu);

let model: LlamaForCausalLM;
let before: number;
beforeEach(() => {
  before = tf.memory().numTensors;
  model = new LlamaForCausalLM(TINY, { seed: 7 });
});
afterEach(() => {
  model.dispose();
  expect(tf.memory().numTensors, 'tensors leaked by the test').toBe(before);
});

function weights(m: LlamaForCausalLM): Map<string, Float32Array> {
  return new Map([...m.parameters()].map(([k, p]) => [k, Float32Array.from(p.variable.dataSync())]));
}

/** One SGD step over the trainable parameters via model.lossAndGradients (tf.variableGrads inside). */
function sgdStep(lora: LoraModel, lr: number): string[] {
  const { loss, grads, numTokens } = lora.model.lossAndGradients(IDS, IDS);
  tf.tidy(() => {
    for (const p of lora.trainableParameters()) {
      const g = grads.get(p.name);
      if (g) p.variable.assign(tf.sub(p.variable, tf.mul(g, lr / numTokens)));
    }
  });
  const names = [...grads.keys()];
  tf.dispose([loss, ...grads.values()]);
  return names;
}

const ALL: Partial<LoraConfig> = { target_modules: 'all-linear', r: 4, lora_alpha: 8 };

describe('zero B reproduces the base model exactly', () => {
  for (const [name, extra] of [
    ['LoRA, Kaiming A', {}],
    ['LoRA, Gaussian A', { init_lora_weights: 'gaussian' }],
    ['rsLoRA', { use_rslora: true }],
    ['DoRA', { use_dora: true }],
  ] as const) {
    it(name, () => {
      const base = take(model.forward(IDS));
      const lora = new LoraModel(model, {
        ...ALL,
        target_modules: [
          'q_proj',
          'k_proj',
          'v_proj',
          'o_proj',
          'gate_proj',
          'up_proj',
          'down_proj',
          'lm_head',
        ],
        ...extra,
      });
      const b = lora.adapterParameters().find((p) => p.name.endsWith('lora_B.default.weight'))!;
      expect(b.variable.dataSync().every((v) => v === 0)).toBe(true);
      expect(take(model.forward(IDS))).toEqual(base); // bit for bit
      lora.unload();
    });
  }
});

describe('merged forward equals the unmerged forward', () => {
  // float32: W + s·B·A rounds once per weight; logits of order 1 then differ by about 1e-6. Bound: 2e-5 + 1e-5·max|logit|.
  for (const [name, extra] of [
    ['LoRA', {}],
    [
      'rsLoRA with rank and alpha patterns',
      { use_rslora: true, rank_pattern: { down_proj: 2 }, alpha_pattern: { q_proj: 3 } },
    ],
    ['DoRA', { use_dora: true }],
  ] as const) {
    it(name, () => {
      const lora = new LoraModel(model, { ...ALL, init_lora_weights: false, ...extra });
      sgdStep(lora, 0.5); // train a little so DoRA's magnitude moves too
      const unmerged = take(model.forward(IDS));
      const base = lora.withAdapterDisabled(() => take(model.forward(IDS)));
      lora.merge();
      expect(lora.merged()).toBe(true);
      const merged = take(model.forward(IDS));
      expectClose(merged, unmerged, { atol: 2e-5, rtol: 1e-5 }, 'merged vs unmerged logits');
      // and the adapter matters: the logits are not the base ones
      expect(Math.max(...merged.map((v, i) => Math.abs(v - base[i]!)))).toBeGreaterThan(1e-2);
      lora.unload();
    });
  }
});

describe('unmerge restores W', () => {
  // W ← (W + ΔW) − ΔW in float32: off by at most a few ulps of |W| + |ΔW| (here ≤ 1e-6 absolute, W and ΔW of order 0.1).
  for (const [name, extra] of [
    ['LoRA', {}],
    ['DoRA', { use_dora: true }],
  ] as const) {
    it(name, () => {
      const w0 = weights(model);
      const lora = new LoraModel(model, { ...ALL, init_lora_weights: false, ...extra });
      lora.merge();
      const q = model.parameter('model.layers.0.self_attn.q_proj.weight').variable.dataSync();
      expect(
        Math.max(...q.map((v, i) => Math.abs(v - w0.get('model.layers.0.self_attn.q_proj.weight')![i]!))),
      ).toBeGreaterThan(1e-3);
      lora.unmerge();
      expect(lora.merged()).toBe(false);
      for (const [k, w] of weights(model)) expectClose(w, w0.get(k)!, { atol: 1e-6 }, k);
      lora.unload();
    });
  }
});

describe('a training step changes no base weight', () => {
  it('manual SGD via tf.variableGrads over trainableParameters', () => {
    const w0 = weights(model);
    const lora = new LoraModel(model, { ...ALL, use_dora: true, modules_to_save: ['lm_head'] });
    const before = lora.adapterParameters().map((p) => Float32Array.from(p.variable.dataSync()));
    const names = sgdStep(lora, 1);
    // gradients exist only for adapter parameters
    expect(names.length).toBe(lora.trainableParameters().length);
    expect(names.every((n) => /\.(lora_A|lora_B|lora_magnitude_vector|modules_to_save)\./.test(n))).toBe(
      true,
    );
    for (const [k, w] of weights(model)) expect(w, k).toEqual(w0.get(k));
    lora.adapterParameters().forEach((p, i) => {
      const moved = p.variable.dataSync().some((v, j) => v !== before[i]![j]);
      // B = 0 at init, so A's gradient s·Bᵀ(...) is zero in the first step: A stays, B, m and the lm_head copy move
      expect(moved, p.name).toBe(!p.name.includes('.lora_A.'));
    });
    lora.unload();
  });

  it('tfjs Adam without a variable list: frozen base weights get no update and no optimizer state', async () => {
    const w0 = weights(model);
    const lora = new LoraModel(model, { ...ALL, init_lora_weights: false });
    const opt = tf.train.adam(0.01);
    for (let i = 0; i < 2; i++) {
      const cost = opt.minimize(() => {
        const { loss, numTokens } = model.loss(IDS, IDS, { training: true });
        return tf.div(loss, numTokens) as tf.Scalar;
      }, true);
      cost?.dispose();
    }
    for (const [k, w] of weights(model)) expect(w, k).toEqual(w0.get(k));
    const state = await opt.getWeights();
    // iterations + (m, v) per trainable variable, none for the frozen base
    expect(state.length).toBe(1 + 2 * lora.trainableParameters().length);
    state[0]!.tensor.dispose(); // the iteration count is a fresh scalar; the rest are the optimizer's own
    opt.dispose();
    lora.unload();
  });
});

describe('rank(s·B·A) <= r', () => {
  it('for every adapted module, after training, with per-module ranks', () => {
    const lora = new LoraModel(model, {
      ...ALL,
      init_lora_weights: false,
      rank_pattern: { 'mlp.down_proj': 2, q_proj: 1 },
    });
    sgdStep(lora, 0.5);
    for (const module of lora.targetedModules()) {
      const r = lora.loraLayers().get(module)!.adapter('default').r;
      const d = lora.deltaWeight(module);
      const [out, inp] = d.shape;
      const { S } = thinSvd(Float64Array.from(take(d)), out, inp);
      const numericalRank = S.filter((s) => s > 1e-5 * S[0]!).length;
      expect(numericalRank, module).toBeLessThanOrEqual(r);
      expect(numericalRank, module).toBe(r); // random A and B: full rank r
    }
    lora.unload();
  });
});

describe('PiSSA at model level', () => {
  it('keeps the logits, stores the residual in W, and s·B·A is the top-r SVD part of the original W', () => {
    const w0 = weights(model);
    const base = take(model.forward(IDS));
    const lora = new LoraModel(model, {
      target_modules: ['q_proj', 'down_proj'],
      r: 3,
      lora_alpha: 6,
      init_lora_weights: 'pissa',
    });
    expectClose(take(model.forward(IDS)), base, { atol: 2e-5, rtol: 1e-5 }, 'logits after PiSSA init');
    for (const module of lora.targetedModules()) {
      const key = `${module}.weight`;
      const [out, inp] = model.parameter(key).variable.shape as [number, number];
      const svd = thinSvd(Float64Array.from(w0.get(key)!), out, inp);
      const principal = new Float64Array(out * inp);
      for (let o = 0; o < out; o++)
        for (let c = 0; c < inp; c++) {
          let v = 0;
          for (let j = 0; j < 3; j++) v += svd.U[o * svd.k + j]! * svd.S[j]! * svd.Vt[j * inp + c]!;
          principal[o * inp + c] = v;
        }
      expectClose(take(lora.deltaWeight(module)), principal, { atol: 1e-6 }, `${module} s·B·A`);
      const residual = model.parameter(key).variable.dataSync();
      expectClose(
        residual,
        w0.get(key)!.map((v, i) => v - principal[i]!),
        { atol: 1e-6 },
        `${module} residual`,
      );
    }
    lora.merge();
    for (const [k, w] of weights(model))
      expectClose(w, w0.get(k)!, { atol: 1e-6 }, `merged ${k} = original W`);
    lora.unload();
  });
});

describe('tensor counts do not grow', () => {
  it('over inject, forward, training steps, merge, unmerge, adapter switching and unload', () => {
    const start = tf.memory().numTensors;
    const lora = new LoraModel(model, { ...ALL, use_dora: true, lora_dropout: 0.1 });
    lora.addAdapter('second', { target_modules: ['q_proj'], r: 2 });
    const withAdapters = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) {
      sgdStep(lora, 0.1);
      take(model.forward(IDS));
      lora.merge();
      take(model.forward(IDS));
      lora.unmerge();
      lora.setAdapter(i === 0 ? 'second' : 'default');
      lora.withAdapterDisabled(() => take(model.forward(IDS)));
      take(lora.deltaWeight('model.layers.0.self_attn.q_proj'));
    }
    expect(tf.memory().numTensors).toBe(withAdapters);
    lora.unload();
    expect(tf.memory().numTensors).toBe(start);
  });
});
