// AdamW and LionW against their update formulas evaluated in float64 here (torch.optim.AdamW; the Lion paper's
// Algorithm 2 with decoupled weight decay), parameter groups, and the native in-place kernels against the tfjs path.
import { registerNativeBackend } from '@loralab/kernels';
import { initBackend, type Parameter } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer, type OptimizerHyper, paramGroups } from './optimizer.js';

const uniform = (n: number, seed: number) => {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (a * 1664525 + 1013904223) >>> 0;
    return (a / 2 ** 32) * 2 - 1;
  });
};

/** A parameter holding a copy of `data` (the cpu backends keep a tensor's array as given, and dataSync returns it). */
function param(name: string, data: Float32Array): Parameter {
  const t = tf.tensor1d(data.slice());
  const variable = tf.variable(t, true, `${name}#${Math.random()}`);
  t.dispose();
  return { name, variable };
}

const ADAMW: OptimizerHyper = { name: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8 };
const LION: OptimizerHyper = { name: 'lion', beta1: 0.9, beta2: 0.95, eps: 0 };

/** Three steps of the optimizer on one parameter with decay λ and lr scale; returns the final values. */
function run(
  hyper: OptimizerHyper,
  native: boolean,
  p0: Float32Array,
  lrs: number[],
  wd: number,
  lrScale = 1,
) {
  const p = param('w', p0);
  const opt = createOptimizer(hyper, [{ params: [p], lrScale, weightDecay: wd }], { native });
  lrs.forEach((lr, t) => {
    const g = tf.tensor1d(uniform(p0.length, 100 + t));
    opt.step(new Map([['w', g]]), lr);
    g.dispose();
  });
  const out = p.variable.dataSync().slice();
  opt.dispose();
  p.variable.dispose();
  return { out, steps: opt.steps };
}

function reference(hyper: OptimizerHyper, p0: Float32Array, lrs: number[], wd: number): Float64Array {
  const p = Float64Array.from(p0);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  const { beta1: b1, beta2: b2, eps } = hyper;
  lrs.forEach((lr, i) => {
    const t = i + 1;
    const g = uniform(p.length, 100 + i);
    for (let j = 0; j < p.length; j++) {
      p[j] = p[j]! * (1 - lr * wd);
      if (hyper.name === 'adamw') {
        m[j] = b1 * m[j]! + (1 - b1) * g[j]!;
        v[j] = b2 * v[j]! + (1 - b2) * g[j]! ** 2;
        p[j] = p[j]! - (lr / (1 - b1 ** t)) * (m[j]! / (Math.sqrt(v[j]!) / Math.sqrt(1 - b2 ** t) + eps));
      } else {
        const c = b1 * m[j]! + (1 - b1) * g[j]!;
        p[j] = p[j]! - lr * Math.sign(c);
        m[j] = b2 * m[j]! + (1 - b2) * g[j]!;
      }
    }
  });
  return p;
}

const p0 = uniform(257, 7);
const LRS = [1e-2, 5e-3, 2e-3];

describe('optimizers (tfjs, cpu backend)', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  for (const hyper of [ADAMW, LION]) {
    it(`${hyper.name} matches its update formula over 3 steps with a per-step lr and weight decay`, () => {
      const before = tf.memory().numTensors;
      const { out, steps } = run(hyper, false, p0, LRS, 0.1);
      expect(steps).toBe(3);
      const ref = reference(hyper, p0, LRS, 0.1);
      for (let i = 0; i < out.length; i++) expect(Math.abs(out[i]! - ref[i]!)).toBeLessThan(1e-6);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('a group lr scale multiplies the lr (LoRA+)', () => {
    const { out } = run(ADAMW, false, p0, LRS, 0, 4);
    const ref = reference(
      ADAMW,
      p0,
      LRS.map((l) => 4 * l),
      0,
    );
    for (let i = 0; i < out.length; i++) expect(Math.abs(out[i]! - ref[i]!)).toBeLessThan(1e-6);
  });

  it('state round-trips: 2 steps + save/load + 1 step equals 3 steps', async () => {
    const p = param('w', p0);
    const opt = createOptimizer(ADAMW, [{ params: [p], lrScale: 1, weightDecay: 0.1 }], { native: false });
    const grads = LRS.map((_, t) => tf.tensor1d(uniform(p0.length, 100 + t)));
    opt.step(new Map([['w', grads[0]!]]), LRS[0]!);
    opt.step(new Map([['w', grads[1]!]]), LRS[1]!);
    const state = await opt.stateTensors();
    expect([...state.keys()]).toEqual(['w.exp_avg', 'w.exp_avg_sq']);
    const q = param('w', p.variable.dataSync() as Float32Array);
    const opt2 = createOptimizer(ADAMW, [{ params: [q], lrScale: 1, weightDecay: 0.1 }], { native: false });
    opt2.loadState(state as Map<string, { shape: number[]; data: Float32Array }>, opt.steps);
    opt.step(new Map([['w', grads[2]!]]), LRS[2]!);
    opt2.step(new Map([['w', grads[2]!]]), LRS[2]!);
    expect(q.variable.dataSync()).toEqual(p.variable.dataSync());
    tf.dispose([...grads, p.variable, q.variable]);
    opt.dispose();
    opt2.dispose();
  });
});

describe('paramGroups', () => {
  it('excludes norms and biases from weight decay and scales lora_B by the LoRA+ ratio', () => {
    const names = [
      'model.layers.0.input_layernorm.weight',
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.0.self_attn.q_proj.bias',
      'model.norm.weight',
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight',
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.default.weight',
    ];
    const params = names.map((name) => ({ name, variable: {} as tf.Variable }));
    const groups = paramGroups(params, {
      weightDecay: 0.1,
      noDecay: ['norm.weight', '.bias'],
      loraPlusRatio: 16,
    });
    const of = (n: string) => groups.find((g) => g.params.some((p) => p.name === n))!;
    expect(of(names[0]!).weightDecay).toBe(0);
    expect(of(names[1]!).weightDecay).toBe(0.1);
    expect(of(names[2]!).weightDecay).toBe(0);
    expect(of(names[3]!).weightDecay).toBe(0);
    expect(of(names[4]!)).toMatchObject({ weightDecay: 0.1, lrScale: 1 });
    expect(of(names[5]!)).toMatchObject({ weightDecay: 0.1, lrScale: 16 });
    expect(groups.length).toBe(3);
  });
});

const native = registerNativeBackend({ notice: false });

describe.skipIf(!native.registered)('native in-place optimizers (loralab-native)', () => {
  for (const hyper of [ADAMW, LION]) {
    it(`${hyper.name}: the in-place kernels give the tfjs updates (to float32 rounding)`, async () => {
      await tf.setBackend(native.backendName);
      const a = run(hyper, true, p0, LRS, 0.1, 2);
      const b = run(hyper, false, p0, LRS, 0.1, 2);
      for (let i = 0; i < a.out.length; i++) expect(Math.abs(a.out[i]! - b.out[i]!)).toBeLessThan(1e-6);
      expect(a.steps).toBe(3);
      await tf.setBackend('cpu');
    });
  }

  it('native state round-trips into the tfjs optimizer', async () => {
    await tf.setBackend(native.backendName);
    const p = param('w', p0);
    const opt = createOptimizer(ADAMW, [{ params: [p], lrScale: 1, weightDecay: 0 }], { native: true });
    const g = tf.tensor1d(uniform(p0.length, 3));
    opt.step(new Map([['w', g]]), 1e-2);
    const state = await opt.stateTensors();
    const q = param('w', p.variable.dataSync() as Float32Array);
    const t = createOptimizer(ADAMW, [{ params: [q], lrScale: 1, weightDecay: 0 }], { native: false });
    t.loadState(state as Map<string, { shape: number[]; data: Float32Array }>, opt.steps);
    opt.step(new Map([['w', g]]), 1e-2);
    t.step(new Map([['w', g]]), 1e-2);
    const [x, y] = [p.variable.dataSync(), q.variable.dataSync()];
    for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThan(1e-6);
    tf.dispose([g, p.variable, q.variable]);
    t.dispose();
    await tf.setBackend('cpu');
  });
});
