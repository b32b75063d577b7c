// A whole training step of a tiny Llama built from the package's ops: on the native backend (fused kernels, sgemm,
// in-place AdamW) and on the tfjs cpu backend (tfjs composites, AdamW of tfjs ops) the losses of three successive
// steps agree within 1e-4 relative.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { applyRope, causalAttention, crossEntropy, InPlaceAdamW, rmsNorm, swiglu } from '../src/index.js';
import { NATIVE, SKIP_NATIVE } from './helpers.js';

const [B, T, d, nh, V, I] = [2, 9, 16, 2, 37, 24];
const hs = d / nh;

async function losses(backend: string): Promise<number[]> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  let seed = 7;
  const p = (shape: number[]) =>
    tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, 0.3, 'float32', seed++)));
  const vars = {
    emb: p([V, d]),
    q: p([d, d]),
    k: p([d, d]),
    v: p([d, d]),
    o: p([d, d]),
    ln1: p([d]),
    ln2: p([d]),
    gate: p([d, I]),
    up: p([d, I]),
    down: p([I, d]),
    head: p([d, V]),
  };
  const list = Object.values(vars);
  const ids = tf.tensor1d(
    Array.from({ length: B * T }, (_, i) => (i * 5) % V),
    'int32',
  );
  const labels = tf.tensor1d(
    Array.from({ length: B * T }, (_, i) => (i % T === T - 1 ? -100 : (i * 5 + 5) % V)),
    'int32',
  );
  const ang = Array.from(
    { length: T * hs },
    (_, n) => Math.floor(n / hs) * 10000 ** (-(2 * (n % (hs / 2))) / hs),
  );
  const cos = tf.tensor4d(ang.map(Math.cos), [1, 1, T, hs]);
  const sin = tf.tensor4d(ang.map(Math.sin), [1, 1, T, hs]);
  const heads = (x: tf.Tensor) => tf.transpose(tf.reshape(x, [B, T, nh, hs]), [0, 2, 1, 3]); // (B, nh, T, hs)
  const loss = () => {
    let x = tf.gather(vars.emb, ids); // (B·T, d)
    const h = rmsNorm(x, vars.ln1, 1e-6);
    const a = causalAttention(
      applyRope(heads(tf.matMul(h, vars.q)), cos, sin),
      applyRope(heads(tf.matMul(h, vars.k)), cos, sin),
      heads(tf.matMul(h, vars.v)),
    );
    x = tf.add(x, tf.matMul(tf.reshape(tf.transpose(a, [0, 2, 1, 3]), [B * T, d]), vars.o));
    const h2 = rmsNorm(x, vars.ln2, 1e-6);
    x = tf.add(x, tf.matMul(swiglu(tf.matMul(h2, vars.gate), tf.matMul(h2, vars.up)), vars.down));
    return crossEntropy(tf.matMul(x, vars.head), labels) as tf.Scalar;
  };
  const native = backend === NATIVE ? new InPlaceAdamW(list, { lr: 1e-2 }) : null;
  const m: tf.Tensor[] = list.map((w) => tf.zerosLike(w));
  const s: tf.Tensor[] = list.map((w) => tf.zerosLike(w));
  const out: number[] = [];
  for (let t = 1; t <= 3; t++) {
    const { value, grads } = tf.variableGrads(loss, list);
    out.push(value.dataSync()[0]!);
    const g = list.map((w) => grads[w.name]!);
    if (native) native.update(g);
    else {
      tf.tidy(() =>
        list.forEach((w, i) => {
          const mi = tf.add(tf.mul(m[i]!, 0.9), tf.mul(g[i]!, 0.1));
          const si = tf.add(tf.mul(s[i]!, 0.999), tf.mul(tf.square(g[i]!), 0.001));
          const upd = tf.div(tf.div(mi, 1 - 0.9 ** t), tf.add(tf.sqrt(tf.div(si, 1 - 0.999 ** t)), 1e-8));
          w.assign(tf.sub(tf.mul(w, 1 - 1e-2 * 0.01), tf.mul(upd, 1e-2)));
          tf.dispose([m[i]!, s[i]!]);
          m[i] = tf.keep(mi);
          s[i] = tf.keep(si);
        }),
      );
    }
    tf.dispose([value, ...g]);
  }
  tf.dispose([...list, ...m, ...s, ids, labels, cos, sin]);
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

describe.skipIf(SKIP_NATIVE)('training step', () => {
  it('native (fused, in-place AdamW) and tfjs cpu give the same losses over 3 steps', async () => {
    const got = await losses(NATIVE);
    const want = await losses('cpu');
    expect(want[2]!).toBeLessThan(want[0]!); // it trains
    for (let i = 0; i < 3; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-4 * want[i]!);
  });
});
