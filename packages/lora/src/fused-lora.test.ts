// LoraLinear on the native backend, where a frozen bias-free base with a standard adapter runs as one fused op
// (@loralab/model loraLinear): output and gradients of x, A and B against PEFT's formula written in tfjs ops.
import {
  dropout,
  type ForwardContext,
  fusedLoraLinearAvailable,
  initBackend,
  Linear,
  type Parameter,
} from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectClose, useCpu } from '../test/helpers.js';
import { LoraLinear } from './lora-layer.js';

let native = false;
let reason = '';
beforeAll(async () => {
  try {
    await initBackend('native');
    native = true;
  } catch (e) {
    reason = (e as Error).message;
    console.warn(`lora fused tests: native backend unavailable, skipped: ${reason}`);
  }
});
afterAll(useCpu);

function param(name: string, shape: number[], seed: number, trainable = false): Parameter {
  const value = tf.randomNormal(shape, 0, 0.5, 'float32', seed);
  const variable = tf.variable(value, trainable, `${name}#${Math.random()}`);
  value.dispose();
  return { name, variable };
}

const EVAL: ForwardContext = { training: false, nextSeed: () => 7 };

/** W (out, in) frozen, no bias; adapters `names` with random nonzero A and B (B is zero after init: redrawn). */
function makeLayer(out: number, inp: number, names: string[], dropout = 0) {
  const base = new Linear('m', param('m.weight', [out, inp], 1));
  const layer = new LoraLinear(base);
  names.forEach((name, i) => {
    const a = layer.updateLayer(name, {
      r: 3 + i,
      alpha: 8,
      dropout,
      useRslora: false,
      useDora: false,
      init: { kind: 'random' },
      seed: 10 + i,
      trainable: true,
    });
    const b = tf.randomNormal(a.loraB.variable.shape, 0, 0.5, 'float32', 20 + i);
    a.loraB.variable.assign(b);
    b.dispose();
  });
  layer.setAdapter(names);
  return {
    layer,
    base,
    cleanup: () => {
      layer.dispose();
      base.weight.variable.dispose();
    },
  };
}

const cotangent = (shape: number[]) => tf.randomUniform(shape, -1, 1, 'float32', 99);

/** y and the gradients of Σ y·R (R fixed random) w.r.t. `vars` by autodiff. */
function valueAndGrads(f: () => tf.Tensor, vars: tf.Variable[]): { y: Float32Array; grads: Float32Array[] } {
  const y = tf.tidy(() => f().dataSync() as Float32Array);
  const { value, grads } = tf.variableGrads(() => {
    const out = f();
    return tf.sum(tf.mul(out, cotangent(out.shape))) as tf.Scalar;
  }, vars);
  value.dispose();
  const result = vars.map((v) => grads[v.name]!.dataSync() as Float32Array);
  tf.dispose(grads);
  return { y, grads: result };
}

describe('LoraLinear on the native backend (fused LoRA linear)', () => {
  it.each([
    [['default'], 5, 11, 6],
    [['default', 'other'], 9, 17, 33],
  ])('adapters %j, N %i in %i out %i: output and gradients follow the formula', (names, n, inp, out) => {
    if (!native) return expect(reason).not.toBe('');
    expect(fusedLoraLinearAvailable()).toBe(true);
    const before = tf.memory().numTensors;
    const { layer, base, cleanup } = makeLayer(out, inp, names);
    const x0 = tf.randomNormal([n, inp], 0, 1, 'float32', 5);
    const x = tf.variable(x0, true);
    x0.dispose();
    const adapters = names.map((name) => layer.adapter(name));
    const vars = [x, ...adapters.flatMap((a) => [a.loraA.variable, a.loraB.variable])];
    const got = valueAndGrads(() => layer.apply(x as tf.Tensor as tf.Tensor2D, EVAL), vars);
    // Closed form: y = x Wᵀ + Σ s (x Aᵀ) Bᵀ; with R = ∂L/∂y: dx = R W + Σ s (R B) A, dA = s (R B)ᵀ x, dB = s Rᵀ (x Aᵀ).
    const want = tf.tidy(() => {
      const xs = x as tf.Tensor as tf.Tensor2D;
      const R = cotangent([n, out]) as tf.Tensor2D;
      const W = base.weight.variable as tf.Tensor as tf.Tensor2D;
      let y = tf.matMul(xs, W, false, true);
      let dx = tf.matMul(R, W);
      const grads: tf.Tensor[] = [];
      for (const a of adapters) {
        const A = a.loraA.variable as tf.Tensor as tf.Tensor2D;
        const B = a.loraB.variable as tf.Tensor as tf.Tensor2D;
        const t = tf.matMul(xs, A, false, true);
        const u = tf.matMul(R, B);
        y = tf.add(y, tf.mul(tf.matMul(t, B, false, true), a.scaling));
        dx = tf.add(dx, tf.mul(tf.matMul(u, A), a.scaling));
        grads.push(
          tf.mul(tf.matMul(u, xs, true, false), a.scaling),
          tf.mul(tf.matMul(R, t, true, false), a.scaling),
        );
      }
      return {
        y: y.dataSync() as Float32Array,
        grads: [dx, ...grads].map((g) => g.dataSync() as Float32Array),
      };
    });
    expectClose(got.y, want.y, { atol: 1e-5, rtol: 1e-5 }, 'y');
    got.grads.forEach((g, i) => {
      expectClose(g, want.grads[i]!, { atol: 1e-5, rtol: 1e-5 }, `gradient ${i}`);
    });
    x.dispose();
    cleanup();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('dropout in training: the fused op takes the dropped input, so the mask applies to the adapter input only', () => {
    if (!native) return expect(reason).not.toBe('');
    const { layer, base, cleanup } = makeLayer(4, 6, ['default'], 0.5);
    const a = layer.adapter('default');
    const x = tf.randomNormal([3, 6], 0, 1, 'float32', 5) as tf.Tensor2D;
    const ctx: ForwardContext = { training: true, nextSeed: () => 42 };
    const got = tf.tidy(() => layer.apply(x, ctx).dataSync() as Float32Array);
    const want = tf.tidy(() => {
      const xd = dropout(x, 0.5, 42); // the native kernel's mask for seed 42
      const t = tf.matMul(xd, a.loraA.variable as tf.Tensor2D, false, true);
      return tf
        .add(
          tf.matMul(x, base.weight.variable as tf.Tensor2D, false, true),
          tf.mul(tf.matMul(t, a.loraB.variable as tf.Tensor2D, false, true), a.scaling),
        )
        .dataSync() as Float32Array;
    });
    expectClose(got, want, { atol: 1e-5, rtol: 1e-5 }, 'y');
    x.dispose();
    cleanup();
  });
});
