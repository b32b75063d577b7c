// Backend agreement, tensor memory, masks, the projection seam, initialisation and checkpoint folders.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  BackendError,
  bmm,
  CheckpointError,
  type ForwardContext,
  initBackend,
  LlamaForCausalLM,
  linear,
  loadPretrained,
  type Parameter,
  type Projection,
  releaseBackendCaches,
  ShapeError,
  savePretrained,
} from '../src/index.js';
import { BACKENDS, expectClose, NATIVE_AVAILABLE, TINY, useBackend } from './helpers.js';

const IDS = [
  [1, 5, 7, 9, 3, 11, 2, 4],
  [2, 4, 6, 8, 10, 12, 14, 39],
];

/** One plain SGD step on every trainable parameter (enough to exercise a full training step's memory). */
function sgdStep(model: LlamaForCausalLM, lr = 0.1) {
  const { loss, grads, numTokens } = model.lossAndGradients(IDS, IDS);
  tf.tidy(() => {
    for (const p of model.trainableParameters()) {
      const g = grads.get(p.name);
      if (g) p.variable.assign(tf.sub(p.variable, tf.mul(g, lr / numTokens)));
    }
  });
  const value = loss.dataSync()[0]!;
  tf.dispose([loss, ...grads.values()]);
  return value;
}

describe('backends', () => {
  it('a backend that is not installed fails with a BackendError that says how to install it', async () => {
    const err = await initBackend('tensorflow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as BackendError).backend).toBe('tensorflow');
    expect((err as Error).message).toContain('npm install @tensorflow/tfjs-node@4.22.0');
    await expect(initBackend('tpu' as never)).rejects.toThrow(/unknown backend 'tpu'/);
  });

  it.skipIf(!NATIVE_AVAILABLE)(
    'releaseBackendCaches gives the pooled output buffers back to the system: resident memory shrinks',
    async () => {
      await useBackend('native');
      const backend = tf.backend() as unknown as { poolStats(): { freeBytes: number } };
      // 64 live outputs of 4 MiB (pooled: over 16K elements), then disposed: the pool keeps them, 256 MiB in all
      const ones = tf.ones([1 << 20]);
      tf.dispose(Array.from({ length: 64 }, (_, i) => tf.add(ones, i)));
      ones.dispose();
      expect(backend.poolStats().freeBytes).toBeGreaterThanOrEqual(256 * 2 ** 20);
      const { rssBeforeBytes, rssAfterBytes } = releaseBackendCaches();
      expect(backend.poolStats().freeBytes).toBe(0);
      // not all 256 MiB: some of the pooled buffers may reuse heap pages that were resident already
      expect(rssBeforeBytes - rssAfterBytes).toBeGreaterThan(64 * 2 ** 20);
    },
  );

  it.skipIf(!NATIVE_AVAILABLE)(
    "'native' starts the kernels backend; auto picks it unless LORALAB_KERNELS=off",
    async () => {
      const saved = { backend: process.env.LORALAB_BACKEND, kernels: process.env.LORALAB_KERNELS };
      try {
        delete process.env.LORALAB_BACKEND;
        delete process.env.LORALAB_KERNELS;
        expect(await initBackend('native')).toMatchObject({ name: 'native', tfjsBackend: 'loralab-native' });
        expect((await initBackend()).name).toBe('native');
        process.env.LORALAB_KERNELS = 'off';
        expect((await initBackend()).name).toBe('wasm');
        const err = await initBackend('native').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(BackendError);
        expect((err as Error).message).toMatch(/LORALAB_KERNELS=off/);
      } finally {
        for (const [k, v] of [
          ['LORALAB_BACKEND', saved.backend],
          ['LORALAB_KERNELS', saved.kernels],
        ] as const) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
    },
  );

  it.skipIf(!NATIVE_AVAILABLE)(
    'on native a causal step runs the fused kernels, right padding too; left padding, segments and attention dropout do not',
    async () => {
      await useBackend('native');
      const m = new LlamaForCausalLM(TINY, { seed: 1 });
      const kernels = async (f: () => void) => new Set((await tf.profile(f)).kernelNames);
      const step = await kernels(() => {
        const r = m.lossAndGradients(IDS, IDS);
        tf.dispose([r.loss, ...r.grads.values()]);
      });
      for (const k of ['RmsNorm', 'Rope', 'CausalAttention', 'SwiGlu']) {
        expect(step, k).toContain(`Loralab${k}`);
        if (k !== 'Rope') expect(step, k).toContain(`Loralab${k}Grad`);
      }
      // The head and its loss: one chunked kernel that also computes the gradients (no logits, no backward kernel).
      expect(step).toContain('LoralabLinearCrossEntropy');
      expect(step).not.toContain('LoralabCrossEntropy');
      expect(step).not.toContain('Softmax');
      const evalLoss = await kernels(() => m.loss(IDS, IDS).loss.dispose());
      expect(evalLoss).toContain('LoralabLinearCrossEntropy');
      const ones = IDS.map((r) => r.map(() => 1));
      const padded = IDS.map((r) => r.map((_, t) => (t === 0 ? 0 : 1)));
      const rightPadded = IDS.map((r) => r.map((_, t) => (t >= 6 ? 0 : 1)));
      const segments = IDS.map((r) => r.map((_, t) => (t < 3 ? 0 : 1)));
      for (const [what, opts, fused] of [
        ['all-ones mask', { attentionMask: ones }, true],
        ['left padding', { attentionMask: padded }, false],
        ['right padding', { attentionMask: rightPadded }, true],
        ['segments', { segmentIds: segments }, false],
      ] as const) {
        const names = await kernels(() => m.forward(IDS, opts).dispose());
        expect(names.has('LoralabCausalAttention'), what).toBe(fused);
        expect(names.has('Softmax'), what).toBe(!fused);
      }
      m.dispose();
      const d = new LlamaForCausalLM({ ...TINY, attention_dropout: 0.1 }, { seed: 1 });
      const train = await kernels(() => d.forward(IDS, { training: true }).dispose());
      expect(train).not.toContain('LoralabCausalAttention');
      d.dispose();
    },
  );

  it.skipIf(!NATIVE_AVAILABLE)(
    'native and wasm give the same training steps, full and with LoRA-like adapters (GQA, untied), no leaks',
    async () => {
      type Run = { losses: number[]; grads: Map<string, Float32Array> };
      const run = async (backend: 'wasm' | 'native', adapters: boolean): Promise<Run> => {
        await useBackend(backend);
        const m = new LlamaForCausalLM({ ...TINY, num_key_value_heads: 2 }, { seed: 6 });
        const extra: AddLowRank[] = [];
        if (adapters) {
          for (const name of m.projectionNames().filter((n) => n.includes('.layers.'))) {
            extra.push(m.wrapProjection(name, (inner) => new AddLowRank(inner, 2, 0.5, 0.05)) as AddLowRank);
          }
        }
        const before = tf.memory().numTensors;
        const { loss, grads } = m.lossAndGradients(IDS, IDS);
        const out: Run = { losses: [loss.dataSync()[0]!], grads: new Map() };
        for (const [k, g] of grads) out.grads.set(k, g.dataSync() as Float32Array);
        tf.dispose([loss, ...grads.values()]);
        for (let i = 0; i < 2; i++) out.losses.push(sgdStep(m));
        expect(tf.memory().numTensors, backend).toBe(before);
        for (const w of extra) tf.dispose([w.A.variable, w.B.variable]);
        m.dispose();
        return out;
      };
      for (const adapters of [false, true]) {
        const [w, n] = [await run('wasm', adapters), await run('native', adapters)];
        expectClose(n.losses, w.losses, { rtol: 1e-5 }, `losses (adapters ${adapters})`);
        expect([...n.grads.keys()]).toEqual([...w.grads.keys()]);
        expect(n.grads.size).toBe(adapters ? 2 * 9 + 3 + 2 * 7 * 2 : 2 * 9 + 3);
        for (const [k, g] of n.grads) expectClose(g, w.grads.get(k)!, { rtol: 1e-4 }, k);
      }
    },
  );

  it.skipIf(!NATIVE_AVAILABLE)(
    'padded batches: native and wasm give the same step (right padding on the fused kernel, left on the tfjs path)',
    async () => {
      // Right padding (rows mode): 3 and 1 padding tokens; left padding: row 1 starts with 2 padding tokens, whose
      // query rows see no real key. Padding labels -100, ids 0 at padding.
      for (const [mask, fused] of [
        [
          [
            [1, 1, 1, 1, 1, 0, 0, 0],
            [1, 1, 1, 1, 1, 1, 1, 0],
          ],
          true,
        ],
        [
          [
            [1, 1, 1, 1, 1, 0, 0, 0],
            [0, 0, 1, 1, 1, 1, 1, 1],
          ],
          false,
        ],
      ] as const) {
        await paddedStep(mask as unknown as number[][], fused);
      }
    },
  );

  async function paddedStep(mask: number[][], fused: boolean): Promise<void> {
    {
      const ids = IDS.map((r, b) => r.map((v, t) => (mask[b]![t] ? v : 0)));
      const labels = ids.map((r, b) => r.map((v, t) => (mask[b]![t] ? v : -100)));
      const run = async (backend: 'wasm' | 'native') => {
        await useBackend(backend);
        const m = new LlamaForCausalLM({ ...TINY, num_key_value_heads: 2 }, { seed: 4 });
        const before = tf.memory().numTensors;
        const kernels = new Set(
          (
            await tf.profile(() => {
              const r = m.lossAndGradients(ids, labels, { attentionMask: mask });
              tf.dispose([r.loss, ...r.grads.values()]);
            })
          ).kernelNames,
        );
        const { loss, grads } = m.lossAndGradients(ids, labels, { attentionMask: mask });
        const out = {
          kernels,
          loss: loss.dataSync()[0]!,
          grads: new Map([...grads].map(([k, g]) => [k, g.dataSync() as Float32Array])),
        };
        tf.dispose([loss, ...grads.values()]);
        expect(tf.memory().numTensors, backend).toBe(before);
        m.dispose();
        return out;
      };
      const [w, n] = [await run('wasm'), await run('native')];
      expect(n.kernels.has('LoralabCausalAttention')).toBe(fused);
      expect(n.kernels.has('Softmax')).toBe(!fused);
      expectClose([n.loss], [w.loss], { rtol: 1e-5 }, 'loss');
      for (const [k, g] of n.grads) expectClose(g, w.grads.get(k)!, { rtol: 1e-4 }, k);
    }
  }

  it('dropout is active only in training mode and is seeded', async () => {
    await useBackend('wasm');
    const m = new LlamaForCausalLM({ ...TINY, attention_dropout: 0.2, residual_dropout: 0.2 }, { seed: 1 });
    const evalA = m.forward(IDS);
    const evalB = m.forward(IDS);
    const trainA = m.forward(IDS, { training: true, seed: 1 });
    const trainA2 = m.forward(IDS, { training: true, seed: 1 });
    const trainB = m.forward(IDS, { training: true, seed: 2 });
    expect(await evalA.data()).toEqual(await evalB.data());
    expect(await trainA.data()).not.toEqual(await evalA.data());
    expect(await trainA.data()).toEqual(await trainA2.data());
    expect(await trainA.data()).not.toEqual(await trainB.data());
    tf.dispose([evalA, evalB, trainA, trainA2, trainB]);
    m.dispose();
  });

  it('every backend agrees with cpu on forward, loss and gradients (duplicate ids included)', async () => {
    const results: Record<string, { logits: Float32Array; loss: number; grads: Map<string, Float32Array> }> =
      {};
    for (const backend of BACKENDS) {
      await useBackend(backend);
      const model = new LlamaForCausalLM(
        { ...TINY, tie_word_embeddings: true, attention_bias: true },
        { seed: 3 },
      );
      const logits = model.forward(IDS);
      const { loss, grads } = model.lossAndGradients(IDS, IDS);
      const g = new Map<string, Float32Array>();
      for (const [k, t] of grads) g.set(k, (await t.data()) as Float32Array);
      results[backend] = {
        logits: (await logits.data()) as Float32Array,
        loss: (await loss.data())[0]!,
        grads: g,
      };
      tf.dispose([logits, loss, ...grads.values()]);
      model.dispose();
    }
    const c = results.cpu!;
    for (const backend of BACKENDS.filter((b) => b !== 'cpu')) {
      const w = results[backend]!;
      expectClose(w.logits, c.logits, { rtol: 1e-5 }, `${backend} logits`);
      expect(Math.abs(w.loss - c.loss)).toBeLessThan(1e-5 * c.loss);
      expect([...w.grads.keys()]).toEqual([...c.grads.keys()]);
      expect(w.grads.size).toBe(2 * 13 + 2); // 13 per layer (4 biases), embed (tied), final norm
      for (const [k, g] of w.grads) expectClose(g, c.grads.get(k)!, { rtol: 1e-4 }, `${backend} ${k}`);
    }
  });

  for (const backend of BACKENDS) {
    it(`a training step on ${backend} lowers the loss and leaks no tensors`, async () => {
      await useBackend(backend);
      const model = new LlamaForCausalLM(
        { ...TINY, attention_dropout: 0.1, residual_dropout: 0.1 },
        { seed: 1 },
      );
      const before = tf.memory().numTensors;
      const first = sgdStep(model);
      expect(tf.memory().numTensors).toBe(before);
      for (let i = 0; i < 5; i++) sgdStep(model);
      expect(sgdStep(model)).toBeLessThan(first);
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    });
  }
});

describe('gradient checkpointing', () => {
  const cases = [
    ...[true, false].map((tied) => ({ backend: 'wasm' as const, tied, dropout: 0.1 })),
    ...(NATIVE_AVAILABLE
      ? [
          { backend: 'native' as const, tied: true, dropout: 0.1 }, // attention dropout: the masked tfjs path
          { backend: 'native' as const, tied: false, dropout: 0 }, // the fused causal kernel
        ]
      : []),
  ];
  for (const { backend, tied, dropout } of cases) {
    it(`gives the gradients of the plain backward pass on ${backend} (${tied ? 'tied' : 'untied'}, dropout ${dropout}), no leaks`, async () => {
      await useBackend(backend);
      const m = new LlamaForCausalLM(
        { ...TINY, tie_word_embeddings: tied, attention_dropout: dropout, residual_dropout: dropout },
        { seed: 5 },
      );
      const before = tf.memory().numTensors;
      const plain = m.lossAndGradients(IDS, IDS, { checkpoint: false, seed: 3 });
      const ckpt = m.lossAndGradients(IDS, IDS, { seed: 3 });
      expect(ckpt.numTokens).toBe(plain.numTokens);
      expect(Math.abs(ckpt.loss.dataSync()[0]! - plain.loss.dataSync()[0]!)).toBeLessThan(1e-4);
      expect([...ckpt.grads.keys()].sort()).toEqual([...plain.grads.keys()].sort());
      for (const [k, g] of plain.grads)
        expectClose(await ckpt.grads.get(k)!.data(), await g.data(), { rtol: 1e-5 }, k);
      tf.dispose([plain.loss, ckpt.loss, ...plain.grads.values(), ...ckpt.grads.values()]);
      expect(tf.memory().numTensors).toBe(before);
      m.dispose();
    });
  }
});

describe('initialisation', () => {
  it('is seeded, reproducible across backends, and follows Hugging Face init', async () => {
    const data: Float32Array[] = [];
    for (const backend of ['wasm', 'cpu'] as const) {
      await useBackend(backend);
      const m = new LlamaForCausalLM({ ...TINY, pad_token_id: 0, initializer_range: 0.02 }, { seed: 7 });
      data.push((await m.parameter('model.layers.1.mlp.up_proj.weight').variable.data()) as Float32Array);
      const embed = (await m.parameter('model.embed_tokens.weight').variable.data()) as Float32Array;
      expect(embed.subarray(0, TINY.hidden_size).every((v) => v === 0)).toBe(true); // pad row
      expect(Array.from(await m.parameter('model.norm.weight').variable.data())).toEqual(
        new Array(16).fill(1),
      );
      m.dispose();
    }
    expect(data[0]).toEqual(data[1]);
    // the default seed (0) is a seed too
    const [m1, m2] = [new LlamaForCausalLM(TINY), new LlamaForCausalLM(TINY)];
    for (const key of m1.parameters().keys()) {
      expect(await m1.parameter(key).variable.data(), key).toEqual(await m2.parameter(key).variable.data());
    }
    m1.dispose();
    m2.dispose();
    const d = data[0]!;
    const std = Math.sqrt(d.reduce((a, v) => a + v * v, 0) / d.length);
    expect(std).toBeGreaterThan(0.015);
    expect(std).toBeLessThan(0.025);
    await useBackend('cpu');
    const other = new LlamaForCausalLM(TINY, { seed: 8 });
    expect(await other.parameter('model.layers.1.mlp.up_proj.weight').variable.data()).not.toEqual(d);
    other.dispose();
  });

  it('names parameters as Hugging Face does', async () => {
    await useBackend('cpu');
    const m = new LlamaForCausalLM({ ...TINY, num_hidden_layers: 1 });
    expect([...m.parameters().keys()]).toEqual([
      'model.embed_tokens.weight',
      'model.layers.0.input_layernorm.weight',
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.0.self_attn.k_proj.weight',
      'model.layers.0.self_attn.v_proj.weight',
      'model.layers.0.self_attn.o_proj.weight',
      'model.layers.0.post_attention_layernorm.weight',
      'model.layers.0.mlp.gate_proj.weight',
      'model.layers.0.mlp.up_proj.weight',
      'model.layers.0.mlp.down_proj.weight',
      'model.norm.weight',
      'lm_head.weight',
    ]);
    expect(m.parameter('model.layers.0.self_attn.k_proj.weight').variable.shape).toEqual([8, 16]); // [out, in]
    expect(m.projectionNames().at(-1)).toBe('lm_head');
    m.dispose();
  });
});

describe.each(BACKENDS.filter((b) => b !== 'cpu'))('masks and positions on %s', (backend) => {
  it('left padding leaves the real tokens’ logits unchanged', async () => {
    await useBackend(backend);
    const m = new LlamaForCausalLM(TINY, { seed: 2 });
    const short = [5, 6, 7];
    const alone = m.forward([short]);
    const padded = m.forward([[0, 0, ...short], IDS[0]!.slice(0, 5)], {
      attentionMask: [
        [0, 0, 1, 1, 1],
        [1, 1, 1, 1, 1],
      ],
    });
    const real = tf.slice(padded, [0, 2, 0], [1, 3, -1]);
    expectClose(await real.data(), await alone.data(), { atol: 1e-5 }, 'left-padded logits');
    tf.dispose([alone, padded, real]);
    m.dispose();
  });

  it('segment ids give a block-causal mask: a packed row equals its sequences run alone', async () => {
    await useBackend(backend);
    const m = new LlamaForCausalLM(TINY, { seed: 2 });
    const [a, b] = [
      [3, 4, 5],
      [6, 7, 8, 9, 10],
    ];
    const packed = m.forward([[...a, ...b]], { segmentIds: [[0, 0, 0, 1, 1, 1, 1, 1]] });
    const la = m.forward([a]);
    const lb = m.forward([b]);
    expectClose(
      await tf.slice(packed, [0, 0, 0], [1, 3, -1]).data(),
      await la.data(),
      { atol: 1e-5 },
      'segment 0',
    );
    expectClose(
      await tf.slice(packed, [0, 3, 0], [1, 5, -1]).data(),
      await lb.data(),
      { atol: 1e-5 },
      'segment 1',
    );
    tf.dispose([packed, la, lb]);
    m.dispose();
  });

  it('rejects out-of-range ids and ragged batches with a ShapeError', async () => {
    await useBackend('cpu');
    const m = new LlamaForCausalLM(TINY);
    expect(() => m.forward([[1, 40]])).toThrow(ShapeError);
    expect(() => m.forward([[1, 2], [3]])).toThrow(/row 1 has 1 ids, expected 2/);
    expect(() => m.loss([[1, 2]], [[1, 99]])).toThrow(/label 99/);
    m.dispose();
  });
});

/** A LoRA-shaped wrapper: y = base(x) + s · B(A(x)), with its own trainable A and B. */
class AddLowRank implements Projection {
  readonly A: Parameter;
  readonly B: Parameter;
  constructor(
    readonly inner: Projection,
    r: number,
    readonly scale: number,
    bInit = 0,
  ) {
    this.A = {
      name: `${inner.name}.lora_A.weight`,
      variable: tf.variable(tf.randomNormal([r, inner.inFeatures], 0, 0.1, 'float32', 5)),
    };
    this.B = {
      name: `${inner.name}.lora_B.weight`,
      variable: tf.variable(tf.fill([inner.outFeatures, r], bInit)),
    };
  }
  get name() {
    return this.inner.name;
  }
  get inFeatures() {
    return this.inner.inFeatures;
  }
  get outFeatures() {
    return this.inner.outFeatures;
  }
  apply(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => {
      const delta = linear(
        linear(x, this.A.variable as tf.Tensor as tf.Tensor2D),
        this.B.variable as tf.Tensor as tf.Tensor2D,
      );
      return tf.add(this.inner.apply(x, ctx), tf.mul(delta, this.scale));
    });
  }
  extraParameters() {
    return [this.A, this.B];
  }
}

describe.each(BACKENDS.filter((b) => b !== 'cpu'))('projection seam on %s', (backend) => {
  it('a wrapper with zero B reproduces the base; frozen base gets no gradients; unwrap restores', async () => {
    await useBackend(backend);
    const m = new LlamaForCausalLM(TINY, { seed: 4 });
    const base = m.forward(IDS);
    const wrappers = new Map<string, AddLowRank>();
    const originals = new Map<string, Projection>();
    for (const name of m.projectionNames().filter((n) => n.includes('.layers.'))) {
      originals.set(name, m.getProjection(name));
      wrappers.set(name, m.wrapProjection(name, (inner) => new AddLowRank(inner, 2, 2)) as AddLowRank);
    }
    const same = m.forward(IDS);
    expectClose(await same.data(), await base.data(), { atol: 0 }, 'B = 0');
    m.setTrainable(false);
    const trainable = m.trainableParameters().map((p) => p.name);
    expect(trainable).toHaveLength(2 * 7 * 2);
    expect(trainable.every((n) => /lora_[AB]\.weight$/.test(n))).toBe(true);
    const before = tf.memory().numTensors;
    const { loss, grads } = m.lossAndGradients(IDS, IDS);
    expect([...grads.keys()].sort()).toEqual([...trainable].sort());
    // B = 0, so only B gets a non-zero gradient
    const q = 'model.layers.0.self_attn.q_proj';
    const gB = tf.tidy(() => tf.max(tf.abs(grads.get(`${q}.lora_B.weight`)!)));
    expect(gB.dataSync()[0]).toBeGreaterThan(0);
    gB.dispose();
    tf.dispose([loss, ...grads.values()]);
    expect(tf.memory().numTensors).toBe(before);
    for (const [name, p] of originals) m.setProjection(name, p);
    for (const w of wrappers.values()) tf.dispose([w.A.variable, w.B.variable]);
    const restored = m.forward(IDS);
    expectClose(await restored.data(), await base.data(), { atol: 0 }, 'unwrapped');
    expect(() => m.setProjection(q, m.getProjection('lm_head'))).toThrow(ShapeError);
    tf.dispose([base, same, restored]);
    m.dispose();
  });
});

describe('Hugging Face folders', () => {
  it('saves and loads (single file and shards), reporting missing and unexpected keys', async () => {
    await useBackend('cpu');
    const dir = await mkdtemp(join(tmpdir(), 'hf-'));
    const m = new LlamaForCausalLM(TINY, { seed: 9 });
    const ref = m.forward(IDS);
    await savePretrained(m, join(dir, 'one'));
    await savePretrained(m, join(dir, 'sharded'), { maxShardBytes: 6000 });
    const shards = (await readdir(join(dir, 'sharded'))).filter((f) => f.endsWith('.safetensors'));
    expect(shards.length).toBeGreaterThan(1);
    const index = JSON.parse(await readFile(join(dir, 'sharded', 'model.safetensors.index.json'), 'utf8'));
    expect(Object.keys(index.weight_map)).toHaveLength(m.parameters().size);
    for (const sub of ['one', 'sharded']) {
      const { model, report } = await loadPretrained(join(dir, sub));
      expect(report).toEqual({ missing: [], unexpected: [] });
      const out = model.forward(IDS);
      expectClose(await out.data(), await ref.data(), { atol: 0 }, sub);
      tf.dispose(out);
      model.dispose();
    }
    // bf16 storage loses precision but stays close
    await savePretrained(m, join(dir, 'bf16'), { dtype: 'BF16' });
    const bf = await loadPretrained(join(dir, 'bf16'));
    const out = bf.model.forward(IDS);
    expectClose(await out.data(), await ref.data(), { atol: 0.05 }, 'bf16');
    tf.dispose(out);
    bf.model.dispose();
    // a model with one more layer than the checkpoint: missing keys are an error unless allowed
    const cfgPath = join(dir, 'one', 'config.json');
    const cfg = JSON.parse(await readFile(cfgPath, 'utf8'));
    const { writeFile } = await import('node:fs/promises');
    await writeFile(cfgPath, JSON.stringify({ ...cfg, num_hidden_layers: 3 }));
    // an edited config.json no longer matches the folder's checksums.json; without the record it loads
    await expect(loadPretrained(join(dir, 'one'))).rejects.toThrow(
      /config\.json: the (size|sha256) does not match/,
    );
    await rm(join(dir, 'one', 'checksums.json'));
    await expect(loadPretrained(join(dir, 'one'))).rejects.toThrow(CheckpointError);
    const partial = await loadPretrained(join(dir, 'one'), { allowMissing: true });
    expect(partial.report.missing).toHaveLength(9);
    expect(partial.report.missing[0]).toBe('model.layers.2.input_layernorm.weight');
    partial.model.dispose();
    await writeFile(cfgPath, JSON.stringify({ ...cfg, num_hidden_layers: 1 }));
    const fewer = await loadPretrained(join(dir, 'one'));
    expect(fewer.report.unexpected).toHaveLength(9);
    fewer.model.dispose();
    await writeFile(cfgPath, JSON.stringify({ ...cfg, hidden_size: 32, head_dim: 4 }));
    await expect(loadPretrained(join(dir, 'one'))).rejects.toThrow(
      /has shape \[40,16\], the model expects \[40,32\]/,
    );
    tf.dispose(ref);
    m.dispose();
    await rm(dir, { recursive: true });
  });
});

describe('bmm', () => {
  it('the per-group wasm path agrees with cpu, values and gradients', async () => {
    const out: Float32Array[][] = [];
    for (const backend of ['wasm', 'cpu'] as const) {
      await useBackend(backend);
      const r = tf.tidy(() => {
        const a = tf.randomNormal([2, 256, 128], 0, 1, 'float32', 1) as tf.Tensor3D; // 256·128·256 MACs ≥ 2^16: the loop path
        const b = tf.randomNormal([2, 128, 256], 0, 1, 'float32', 2) as tf.Tensor3D;
        const w = tf.randomNormal([2, 256, 256], 0, 1, 'float32', 3);
        const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(bmm(x as tf.Tensor3D, y as tf.Tensor3D), w));
        const [ga, gb] = tf.grads(f)([a, b]);
        return [bmm(a, b), ga!, gb!].map((t) => t.dataSync() as Float32Array);
      });
      out.push(r);
    }
    for (let i = 0; i < 3; i++) expectClose(out[0]![i]!, out[1]![i]!, { rtol: 1e-5 }, `output ${i}`);
  });
});

describe('wasm Slice replacement', () => {
  it('copies contiguous and strided slices exactly like the cpu backend', async () => {
    const out: Float32Array[][] = [];
    for (const backend of ['wasm', 'cpu'] as const) {
      await useBackend(backend);
      out.push(
        tf.tidy(() => {
          const x = tf.randomNormal([4, 6, 5], 0, 1, 'float32', 9);
          const pieces = [
            tf.slice(x, [2, 0, 0], [1, 6, 5]), // contiguous: replacement path
            tf.slice(x, [1, 2, 0], [2, 3, 5]), // strided: original kernel
            tf.slice(x, [0, 0, 1], [4, 6, 2]),
          ];
          return pieces.map((p) => p.dataSync() as Float32Array);
        }),
      );
    }
    for (let i = 0; i < 3; i++) expect(out[0]![i]).toEqual(out[1]![i]);
  });
});
