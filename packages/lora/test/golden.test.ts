// Layer maths against golden values from tools/reference/lora_golden.py (PyTorch, float64, the defining formulas),
// and PEFT-format adapter folders written by that script against its logits. Tolerances: float32 arithmetic on
// values of order 1 gives errors of order 1e-6; the stated bounds leave a margin of about 10x.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ForwardContext, Linear, loadPretrained, type Parameter } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { LoraLinear, loadAdapter, MAGNITUDE, pissaInit } from '../src/index.js';
import { expectClose, take, useCpu } from './helpers.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const golden = JSON.parse(readFileSync(join(FIXTURES, 'lora-golden.json'), 'utf8'));
const L = golden.layer;
const CTX: ForwardContext = { training: false, nextSeed: () => 1 };

beforeAll(useCpu);

function param(name: string, values: number[], shape: number[]): Parameter {
  const value = tf.tensor(values, shape);
  const variable = tf.variable(value, false, `${name}#${Math.random()}`);
  value.dispose();
  return { name, variable };
}

/** A LoraLinear on W, b from the golden case, with A and B set to the golden values. */
function goldenLayer(opts: { useRslora?: boolean; useDora?: boolean }) {
  const base = new Linear('m', param('m.weight', L.W, [L.out, L.inp]), param('m.bias', L.b, [L.out]));
  const layer = new LoraLinear(base);
  const a = layer.updateLayer('default', {
    r: L.r,
    alpha: L.alpha,
    dropout: 0,
    useRslora: opts.useRslora ?? false,
    useDora: opts.useDora ?? false,
    init: { kind: 'kaiming' },
    seed: 1,
    trainable: true,
  });
  a.loraA.variable.assign(tf.tensor2d(L.A, [L.r, L.inp]));
  a.loraB.variable.assign(tf.tensor2d(L.B, [L.out, L.r]));
  layer.setAdapter(['default']);
  const dispose = () => {
    layer.dispose();
    base.weight.variable.dispose();
    base.bias?.variable.dispose();
  };
  return { base, layer, adapter: a, dispose };
}

const x = () => tf.tensor2d(L.x, [L.x.length / L.inp, L.inp]);

describe('LoRA layer vs the PyTorch reference', () => {
  for (const [name, useRslora] of [
    ['lora', false],
    ['rslora', true],
  ] as const) {
    it(`${name}: scaling, forward, delta weight and merged weight`, () => {
      const g = L[name];
      const { layer, adapter, base, dispose } = goldenLayer({ useRslora });
      expect(adapter.scaling).toBeCloseTo(g.scaling, 12);
      const xs = x();
      expectClose(take(layer.apply(xs, CTX)), g.y, { atol: 1e-5 }, `${name} y`);
      expectClose(take(layer.deltaWeight('default')), g.delta, { atol: 1e-6 }, `${name} delta`);
      layer.merge();
      expectClose(base.weight.variable.dataSync(), g.merged, { atol: 1e-6 }, `${name} merged W`);
      expectClose(take(layer.apply(xs, CTX)), g.y, { atol: 1e-5 }, `${name} merged y`);
      xs.dispose();
      dispose();
    });
  }

  it('DoRA: magnitude init = row norms of W + s·B·A; forward, merged weight and delta with a trained magnitude', () => {
    const g = L.dora;
    const { layer, adapter, base, dispose } = goldenLayer({ useDora: true });
    // The adapter was initialised with B = 0: m₀ = ‖W‖_row. Recompute with the golden B to check the formula.
    const m = adapter.extra.get(MAGNITUDE)!.variable;
    expect(m.shape).toEqual([L.out]);
    const w = tf.tensor2d(L.W, [L.out, L.inp]);
    expectClose(
      take(tf.norm(w, 'euclidean', 1)),
      m.dataSync(),
      { atol: 1e-6 },
      'magnitude at init with B = 0',
    );
    w.dispose();
    adapter.variant.init(layer.baseView(), adapter, true); // re-run init with the golden B
    expectClose(adapter.extra.get(MAGNITUDE)!.variable.dataSync(), g.magnitude_init, { atol: 1e-6 }, 'm₀');
    m.dispose();
    adapter.extra.get(MAGNITUDE)!.variable.assign(tf.tensor1d(g.magnitude));
    const xs = x();
    expectClose(take(layer.apply(xs, CTX)), g.y, { atol: 1e-5 }, 'DoRA y');
    expectClose(take(layer.deltaWeight('default')), g.delta, { atol: 1e-6 }, 'DoRA delta');
    layer.merge();
    expectClose(base.weight.variable.dataSync(), g.merged, { atol: 1e-6 }, 'DoRA merged W');
    expectClose(take(layer.apply(xs, CTX)), g.y, { atol: 1e-5 }, 'DoRA merged y');
    layer.unmerge();
    expectClose(base.weight.variable.dataSync(), L.W, { atol: 1e-6 }, 'DoRA unmerged W');
    xs.dispose();
    dispose();
  });
});

describe('adapter gradients vs the PyTorch reference (L = Σ y ⊙ G, W and b frozen)', () => {
  for (const useDora of [false, true]) {
    it(useDora ? 'DoRA: A, B and magnitude, with ‖W + s·B·A‖ constant in backprop' : 'LoRA: A and B', () => {
      const g = useDora ? L.dora : L.lora;
      const { layer, adapter, dispose } = goldenLayer({ useDora });
      const vars = [adapter.loraA.variable, adapter.loraB.variable];
      if (useDora) {
        const m = adapter.extra.get(MAGNITUDE)!.variable;
        m.assign(tf.tensor1d(g.magnitude));
        vars.push(m);
      }
      const xs = x();
      const G = tf.tensor2d(L.grad_cotangent, [xs.shape[0], L.out]);
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(layer.apply(xs, CTX), G)) as tf.Scalar,
        vars,
      );
      expectClose(grads[adapter.loraA.variable.name]!.dataSync(), g.grad_A, { atol: 1e-5 }, 'dL/dA');
      expectClose(grads[adapter.loraB.variable.name]!.dataSync(), g.grad_B, { atol: 1e-5 }, 'dL/dB');
      if (useDora) expectClose(grads[vars[2]!.name]!.dataSync(), g.grad_magnitude, { atol: 1e-5 }, 'dL/dm');
      tf.dispose([value, xs, G, ...Object.values(grads)]);
      dispose();
    });
  }
});

describe('PiSSA vs the PyTorch reference', () => {
  for (const g of golden.pissa) {
    it(`${g.out}x${g.inp}, r=${g.r}: A, B (up to the sign of each singular pair), residual and principal part`, () => {
      const { A, B, residual } = pissaInit(
        Float32Array.from(g.W),
        g.out,
        g.inp,
        g.r,
        g.scaling,
        null,
        () => 0,
      );
      expectClose(residual, g.residual, { atol: 1e-6 }, 'W_res');
      // s·B·A = U_r S_r V_rᵀ, sign-free
      const principal = new Float64Array(g.out * g.inp);
      for (let o = 0; o < g.out; o++)
        for (let c = 0; c < g.inp; c++) {
          let v = 0;
          for (let j = 0; j < g.r; j++) v += B[o * g.r + j]! * A[j * g.inp + c]!;
          principal[o * g.inp + c] = g.scaling * v;
        }
      expectClose(principal, g.principal, { atol: 1e-6 }, 's·B·A');
      for (let j = 0; j < g.r; j++) {
        // flip pair j to the reference's sign convention, then compare
        const sign = Math.sign(A[j * g.inp]!) === Math.sign(g.A[j * g.inp]) ? 1 : -1;
        const aj = Array.from({ length: g.inp }, (_, c) => sign * A[j * g.inp + c]!);
        const bj = Array.from({ length: g.out }, (_, o) => sign * B[o * g.r + j]!);
        expectClose(aj, g.A.slice(j * g.inp, (j + 1) * g.inp), { atol: 1e-6 }, `A row ${j}`);
        expectClose(
          bj,
          Array.from({ length: g.out }, (_, o) => g.B[o * g.r + j]),
          { atol: 1e-6 },
          `B column ${j}`,
        );
      }
    });
  }

  it('pissa_niter_K (randomized SVD) reaches the exact principal part on a matrix of rank r', () => {
    const g = golden.pissa[0];
    // rank-r matrix: the golden principal part itself
    const W = Float32Array.from(g.principal);
    const { A, B, residual } = pissaInit(W, g.out, g.inp, g.r, g.scaling, 4, () => Math.random() - 0.5);
    expectClose(residual, new Float32Array(g.out * g.inp), { atol: 1e-5 }, 'residual of a rank-r W');
    expect(A.length).toBe(g.r * g.inp);
    expect(B.length).toBe(g.out * g.r);
  });
});

describe('PEFT adapter folders written by the reference', () => {
  const M = golden.model;
  for (const folder of ['peft-lora', 'peft-dora'] as const) {
    it(`${folder}: loads (unknown keys warn) and gives the reference logits`, async () => {
      const { model } = await loadPretrained(join(FIXTURES, 'base'));
      const base = take(model.forward(M.input_ids));
      expectClose(base, M.base_logits, { atol: 2e-4, rtol: 1e-5 }, 'base logits');
      const warnings: string[] = [];
      const lora = await loadAdapter(model, join(FIXTURES, folder), { onWarning: (w) => warnings.push(w) });
      if (folder === 'peft-lora') {
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain("'some_future_field'");
        expect(lora.targetedModules()).toHaveLength(14);
        expect(lora.loraLayers().get('model.layers.0.mlp.down_proj')!.adapter('default').r).toBe(2);
        expect(lora.loraLayers().get('model.layers.1.self_attn.q_proj')!.adapter('default').alpha).toBe(3);
      } else {
        expect(lora.targetedModules()).toEqual([
          'model.layers.1.self_attn.q_proj',
          'model.layers.1.self_attn.v_proj',
        ]);
      }
      expect(lora.trainableParameters()).toHaveLength(0); // loaded for inference
      expectClose(
        take(model.forward(M.input_ids)),
        M[folder],
        { atol: 2e-4, rtol: 1e-5 },
        `${folder} logits`,
      );
      lora.unload();
      model.dispose();
    });
  }
});

describe('an adapter folder written by loralab, read by the independent reference', () => {
  it('loralab-dora (DoRA, rank/alpha patterns, modules_to_save): the reference reader implies the same logits', async () => {
    const M = golden.model;
    const { model } = await loadPretrained(join(FIXTURES, 'base'));
    const lora = await loadAdapter(model, join(FIXTURES, 'loralab-dora'));
    expect(lora.savedModules()).toEqual(['lm_head']);
    expectClose(take(model.forward(M.input_ids)), M['loralab-dora'], { atol: 2e-4, rtol: 1e-5 }, 'logits');
    lora.unload();
    model.dispose();
  });
});
