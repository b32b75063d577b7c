import { type ForwardContext, Linear, type Parameter, ShapeError } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectClose, take, useCpu } from '../test/helpers.js';
import { LoraLinear } from './lora-layer.js';

beforeAll(useCpu);

function param(name: string, shape: number[], seed: number): Parameter {
  const value = tf.randomNormal(shape, 0, 0.5, 'float32', seed);
  const variable = tf.variable(value, false, `${name}#${Math.random()}`);
  value.dispose();
  return { name, variable };
}

/** A (6 <- 5) linear with bias and one adapter with random A and B. */
function makeLayer(useDora: boolean, dropout: number) {
  const base = new Linear('m', param('m.weight', [6, 5], 1), param('m.bias', [6], 2));
  const layer = new LoraLinear(base);
  layer.updateLayer('default', {
    r: 2,
    alpha: 4,
    dropout,
    useRslora: false,
    useDora,
    init: { kind: 'random' },
    seed: 3,
    trainable: true,
  });
  layer.setAdapter(['default']);
  const cleanup = () => {
    layer.dispose();
    base.weight.variable.dispose();
    base.bias?.variable.dispose();
  };
  return { base, layer, a: layer.adapter('default'), cleanup };
}

describe('LoraLinear', () => {
  for (const useDora of [false, true]) {
    it(`${useDora ? 'DoRA' : 'LoRA'} with dropout in training follows PEFT's formula with the context's seed`, () => {
      const n = tf.memory().numTensors;
      const { base, layer, a, cleanup } = makeLayer(useDora, 0.5);
      const x = tf.randomNormal([4, 5], 0, 1, 'float32', 9) as tf.Tensor2D;
      const ctx: ForwardContext = { training: true, nextSeed: () => 42 };
      const y = take(layer.apply(x, ctx));
      const expected = tf.tidy(() => {
        const W = base.weight.variable as tf.Tensor as tf.Tensor2D;
        const xd = tf.dropout(x, 0.5, undefined, 42) as tf.Tensor2D; // the same mask
        const baseOut = tf.add(tf.matMul(x, W, false, true), base.bias!.variable); // W x + b
        const lora = tf.mul(
          tf.matMul(tf.matMul(xd, a.loraA.variable, false, true), a.loraB.variable, false, true),
          a.scaling,
        ); // s·B A xd
        if (!useDora) return tf.add(baseOut, lora);
        // PEFT: y = W x + b + (m/n − 1)·W xd + (m/n)·s·B A xd,  n = ‖W + s·B·A‖_row
        const V = tf.add(W, tf.mul(tf.matMul(a.loraB.variable, a.loraA.variable), a.scaling));
        const f = tf.div(a.extra.get('lora_magnitude_vector')!.variable, tf.norm(V, 'euclidean', 1));
        return tf.add(baseOut, tf.add(tf.mul(tf.sub(f, 1), tf.matMul(xd, W, false, true)), tf.mul(f, lora)));
      });
      expectClose(y, take(expected), { atol: 1e-5 }, 'y');
      // without training, no dropout: a different output
      expect(take(layer.apply(x, { training: false, nextSeed: () => 42 }))).not.toEqual(y);
      x.dispose();
      cleanup();
      expect(tf.memory().numTensors).toBe(n);
    });
  }

  it('checks the input width and computes the base output when disabled', () => {
    const { base, layer, cleanup } = makeLayer(false, 0);
    const ctx: ForwardContext = { training: false, nextSeed: () => 1 };
    const bad = tf.zeros([2, 4]) as tf.Tensor2D;
    expect(() => layer.apply(bad, ctx)).toThrow(ShapeError);
    const x = tf.ones([2, 5]) as tf.Tensor2D;
    layer.disabled = true;
    expect(take(layer.apply(x, ctx))).toEqual(take(base.apply(x, ctx)));
    tf.dispose([bad, x]);
    cleanup();
  });
});
