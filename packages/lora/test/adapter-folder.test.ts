// Saving and loading PEFT adapter folders: format, round trip, and the checks on load.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CHECKSUMS_NAME,
  CheckpointError,
  ConfigError,
  IntegrityError,
  LlamaForCausalLM,
  openSafetensors,
  readSafetensors,
  writeSafetensors,
} from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ADAPTER_CONFIG_NAME,
  ADAPTER_WEIGHTS_NAME,
  adapterParametersByKey,
  type LoadAdapterOptions,
  type LoraConfig,
  LoraModel,
  loadAdapter,
  loadAdapters,
  NEWER_PEFT_FIELDS,
  saveAdapter,
  saveAdapters,
} from '../src/index.js';
import { IDS, TINY, take, useCpu } from './helpers.js';

let dir: string;
beforeAll(async () => {
  await useCpu();
  dir = await mkdtemp(join(tmpdir(), 'lora-folder-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

let model: LlamaForCausalLM;
let before: number;
beforeEach(() => {
  before = tf.memory().numTensors;
  model = new LlamaForCausalLM(TINY, { seed: 3 });
});
afterEach(() => {
  model.dispose();
  expect(tf.memory().numTensors, 'tensors leaked by the test').toBe(before);
});

/** An adapter with non-zero A and B, trained a step so DoRA's magnitude differs from its init. */
function trained(config: Partial<LoraConfig>): LoraModel {
  const lora = new LoraModel(model, { init_lora_weights: false, ...config });
  const { loss, grads, numTokens } = model.lossAndGradients(IDS, IDS);
  tf.tidy(() => {
    for (const p of lora.trainableParameters())
      p.variable.assign(tf.sub(p.variable, tf.mul(grads.get(p.name)!, 1 / numTokens)));
  });
  tf.dispose([loss, ...grads.values()]);
  return lora;
}

describe('saveAdapter', () => {
  it("writes PEFT's adapter_config.json and adapter_model.safetensors keys and shapes", async () => {
    const lora = trained({
      target_modules: ['q_proj', 'down_proj'],
      r: 4,
      lora_alpha: 8,
      use_dora: true,
      layers_to_transform: [1],
    });
    const out = join(dir, 'format');
    await saveAdapter(lora, out, { baseModelNameOrPath: 'tiny-llama' });
    const config = JSON.parse(await readFile(join(out, ADAPTER_CONFIG_NAME), 'utf8'));
    expect(config.peft_type).toBe('LORA');
    expect(config.task_type).toBe('CAUSAL_LM');
    expect(config.base_model_name_or_path).toBe('tiny-llama');
    expect(config.inference_mode).toBe(true);
    expect(config.use_dora).toBe(true);
    expect(config.target_modules).toEqual(['q_proj', 'down_proj']);
    expect(Object.keys(config)).toEqual([...Object.keys(config)].sort());
    const file = await openSafetensors(join(out, ADAPTER_WEIGHTS_NAME));
    expect(file.metadata).toEqual({ format: 'pt' });
    const listing = Object.fromEntries([...file.entries].map(([k, e]) => [k, e.shape]));
    await file.close();
    expect(listing).toEqual({
      'base_model.model.model.layers.1.mlp.down_proj.lora_A.weight': [4, 24],
      'base_model.model.model.layers.1.mlp.down_proj.lora_B.weight': [16, 4],
      'base_model.model.model.layers.1.mlp.down_proj.lora_magnitude_vector': [16],
      'base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight': [4, 16],
      'base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight': [16, 4],
      'base_model.model.model.layers.1.self_attn.q_proj.lora_magnitude_vector': [16],
    });
    await saveAdapter(lora, out, { omitNewerDefaults: true });
    const old = JSON.parse(await readFile(join(out, ADAPTER_CONFIG_NAME), 'utf8'));
    for (const k of NEWER_PEFT_FIELDS) expect(old, k).not.toHaveProperty(k);
    expect(old.use_dora).toBe(true);
    lora.unload();
  });
});

describe('save -> load round trip', () => {
  for (const [name, config] of [
    ['LoRA on all linears', { target_modules: 'all-linear', r: 4, lora_alpha: 8 }],
    [
      'DoRA + rsLoRA + patterns',
      {
        target_modules: ['q_proj', 'v_proj', 'up_proj'],
        use_dora: true,
        use_rslora: true,
        rank_pattern: { up_proj: 2 },
      },
    ],
    ['modules_to_save lm_head', { target_modules: ['q_proj'], modules_to_save: ['lm_head'] }],
  ] as const) {
    it(`${name}: identical logits on a fresh copy of the base model`, async () => {
      const out = join(dir, name.replace(/\W+/g, '-'));
      const lora = trained(config as Partial<LoraConfig>);
      const logits = take(model.forward(IDS));
      await saveAdapter(lora, out);
      lora.unload();
      // a fresh base model with the same weights
      const fresh = new LlamaForCausalLM(TINY, { seed: 3 });
      const loaded = await loadAdapter(fresh, out);
      expect(take(fresh.forward(IDS))).toEqual(logits); // bit for bit (F32 files)
      expect(loaded.trainableParameters()).toHaveLength(0);
      loaded.unload();
      fresh.dispose();
    });
  }

  it('loads as trainable when asked, and into an existing LoraModel under another name', async () => {
    const out = join(dir, 'second');
    const lora = trained({ target_modules: ['k_proj'], r: 2 });
    const logits = take(model.forward(IDS));
    await saveAdapter(lora, out);
    lora.unload();
    const host = new LoraModel(model, { target_modules: ['q_proj'] });
    await loadAdapter(host, out, { adapterName: 'other', isTrainable: true });
    expect(host.activeAdapter).toBe('other');
    expect(host.adapterNames()).toEqual(['default', 'other']);
    expect(host.trainableParameters().map((p) => p.name)).toEqual([
      'base_model.model.model.layers.0.self_attn.k_proj.lora_A.other.weight',
      'base_model.model.model.layers.0.self_attn.k_proj.lora_B.other.weight',
      'base_model.model.model.layers.1.self_attn.k_proj.lora_A.other.weight',
      'base_model.model.model.layers.1.self_attn.k_proj.lora_B.other.weight',
    ]);
    expect(take(model.forward(IDS))).toEqual(logits); // 'default' (q_proj, B = 0) is inactive
    host.unload();
  });

  it('stores BF16 when asked, within bf16 rounding', async () => {
    const out = join(dir, 'bf16');
    const lora = trained({ target_modules: ['q_proj'] });
    await saveAdapter(lora, out, { dtype: 'BF16' });
    const { tensors } = await readSafetensors(join(out, ADAPTER_WEIGHTS_NAME));
    const a = tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!;
    expect(a.dtype).toBe('BF16');
    const live = lora.adapterParameters()[0]!.variable.dataSync();
    for (let i = 0; i < a.data.length; i++) {
      expect(Math.abs(a.data[i]! - live[i]!)).toBeLessThanOrEqual(Math.abs(live[i]!) * 2 ** -8);
    }
    lora.unload();
  });
});

describe('bias: "all" and "lora_only"', () => {
  for (const bias of ['lora_only', 'all'] as const) {
    it(`${bias}: trains and saves the base biases it names; round trip gives the same logits`, async () => {
      const withBias = new LlamaForCausalLM({ ...TINY, attention_bias: true }, { seed: 4 });
      const w0 = new Map(
        [...withBias.parameters()].map(([k, p]) => [k, Float32Array.from(p.variable.dataSync())]),
      );
      const lora = new LoraModel(withBias, { target_modules: ['q_proj'], bias, init_lora_weights: false });
      const biases = lora.biasParameters().map((p) => p.name);
      const expected = bias === 'all' ? ['q_proj', 'k_proj', 'v_proj', 'o_proj'] : ['q_proj'];
      expect(biases).toEqual(
        [0, 1].flatMap((l) => expected.map((m) => `model.layers.${l}.self_attn.${m}.bias`)),
      );
      const trainable = lora.trainableParameters().map((p) => p.name);
      for (const b of biases) expect(trainable).toContain(b);
      const { loss, grads, numTokens } = withBias.lossAndGradients(IDS, IDS);
      tf.tidy(() => {
        for (const p of lora.trainableParameters())
          p.variable.assign(tf.sub(p.variable, tf.mul(grads.get(p.name)!, 1 / numTokens)));
      });
      tf.dispose([loss, ...grads.values()]);
      for (const [k, p] of withBias.parameters()) {
        expect(
          p.variable.dataSync().some((v, i) => v !== w0.get(k)![i]),
          k,
        ).toBe(biases.includes(k));
      }
      const logits = take(withBias.forward(IDS));
      const out = join(dir, `bias-${bias}`);
      await saveAdapter(lora, out);
      const file = await openSafetensors(join(out, ADAPTER_WEIGHTS_NAME));
      expect([...file.entries.keys()].filter((k) => k.endsWith('.bias'))).toEqual(
        biases.map((b) => `base_model.model.${b}`).sort(),
      );
      await file.close();
      lora.unload();
      withBias.dispose();
      const fresh = new LlamaForCausalLM({ ...TINY, attention_bias: true }, { seed: 4 });
      const loaded = await loadAdapter(fresh, out);
      expect(take(fresh.forward(IDS))).toEqual(logits);
      expect(loaded.trainableParameters()).toHaveLength(0);
      loaded.unload();
      fresh.dispose();
    });
  }
});

describe('several adapters in one folder (PEFT layout)', () => {
  it('saves default at the top and others in subfolders, and loads them all back', async () => {
    const out = join(dir, 'multi');
    const lora = trained({ target_modules: ['q_proj'] });
    lora.addAdapter('math', { target_modules: ['v_proj', 'up_proj'], r: 2, init_lora_weights: false });
    lora.setAdapter('math');
    const mathLogits = take(model.forward(IDS));
    lora.setAdapter('default');
    const defaultLogits = take(model.forward(IDS));
    const folders = await saveAdapters(lora, out);
    expect([...folders]).toEqual([
      ['default', out],
      ['math', join(out, 'math')],
    ]);
    lora.unload();
    const loaded = await loadAdapters(model, out);
    expect(loaded.adapterNames()).toEqual(['default', 'math']);
    expect(loaded.activeAdapter).toBe('default');
    expect(take(model.forward(IDS))).toEqual(defaultLogits);
    loaded.setAdapter('math');
    expect(take(model.forward(IDS))).toEqual(mathLogits);
    loaded.unload();
  });
});

describe('PiSSA -> LoRA conversion on save', () => {
  for (const useRslora of [false, true]) {
    it(`the converted rank-2r adapter applies to the original base${useRslora ? ' (rsLoRA)' : ''}`, async () => {
      const initial = join(dir, `pissa-init-${useRslora}`);
      const converted = join(dir, `pissa-converted-${useRslora}`);
      const lora = new LoraModel(model, {
        target_modules: ['q_proj', 'down_proj'],
        r: 2,
        lora_alpha: 4,
        use_rslora: useRslora,
        init_lora_weights: 'pissa',
      });
      await saveAdapter(lora, initial);
      const { loss, grads, numTokens } = model.lossAndGradients(IDS, IDS);
      tf.tidy(() => {
        for (const p of lora.trainableParameters())
          p.variable.assign(tf.sub(p.variable, tf.mul(grads.get(p.name)!, 2 / numTokens)));
      });
      tf.dispose([loss, ...grads.values()]);
      const trainedLogits = take(model.forward(IDS));
      await saveAdapter(lora, converted, { pathInitialModelForWeightConversion: initial });
      lora.unload();
      const config = JSON.parse(await readFile(join(converted, ADAPTER_CONFIG_NAME), 'utf8'));
      expect([config.r, config.lora_alpha, config.init_lora_weights]).toEqual([
        4,
        useRslora ? 4 * Math.SQRT2 : 8,
        true,
      ]);
      const original = new LlamaForCausalLM(TINY, { seed: 3 }); // W, not the PiSSA residual
      const loaded = await loadAdapter(original, converted);
      const a = loaded.adapterParameters()[0]!;
      expect(a.variable.shape).toEqual([4, 16]);
      const logits = take(original.forward(IDS));
      let maxDiff = 0;
      for (let i = 0; i < logits.length; i++)
        maxDiff = Math.max(maxDiff, Math.abs(logits[i]! - trainedLogits[i]!));
      expect(maxDiff).toBeLessThan(2e-5);
      loaded.unload();
      original.dispose();
    });
  }
});

describe('loading checks the folder against its config', () => {
  async function folderWith(
    name: string,
    edit: (t: Map<string, { shape: number[]; data: Float32Array }>) => void,
  ) {
    const out = join(dir, name);
    const lora = trained({ target_modules: ['q_proj', 'v_proj'], r: 2 });
    await saveAdapter(lora, out);
    lora.unload();
    const { tensors } = await readSafetensors(join(out, ADAPTER_WEIGHTS_NAME));
    edit(tensors);
    // an edited file, as another tool would write it: no checksums (the folder's record is dropped)
    await writeSafetensors(join(out, ADAPTER_WEIGHTS_NAME), tensors, { format: 'pt' });
    await rm(join(out, CHECKSUMS_NAME));
    return out;
  }

  async function loadError(out: string, options: LoadAdapterOptions = {}): Promise<CheckpointError> {
    const n = tf.memory().numTensors;
    const projections = model.projectionNames().map((p) => model.getProjection(p));
    const err = await loadAdapter(model, out, { onWarning: () => {}, ...options }).then(
      () => null,
      (e) => e,
    );
    expect(err).toBeInstanceOf(CheckpointError);
    // the model is left as it was
    expect(model.projectionNames().map((p) => model.getProjection(p))).toEqual(projections);
    expect(tf.memory().numTensors).toBe(n);
    return err as CheckpointError;
  }

  it('a partial adapter (fewer modules than its config names) loads as PEFT does: a warning names the missing modules', async () => {
    const out = await folderWith('partial', (t) => {
      t.delete('base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight');
      t.delete('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight');
      t.delete('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    });
    const { tensors } = await readSafetensors(join(out, ADAPTER_WEIGHTS_NAME));
    const warnings: string[] = [];
    let keys: { missing: string[]; unexpected: string[] } | null = null;
    const lora = await loadAdapter(model, out, {
      onWarning: (w) => warnings.push(w),
      onIncompatibleKeys: (k) => {
        keys = k;
      },
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('found missing adapter keys while loading the checkpoint');
    expect(warnings[0]).toContain(
      'model.layers.0.self_attn.q_proj (lora_A), model.layers.1.self_attn.v_proj (lora_A, lora_B)',
    );
    expect(keys!.missing).toEqual([
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight',
      'base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight',
      'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight',
    ]);
    expect(keys!.unexpected).toEqual([]);
    // present tensors are loaded; a missing lora_B stays zero, so that module is unchanged (as PEFT)
    const params = adapterParametersByKey(lora);
    const loaded = params.get('base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight')!;
    expect(Array.from(loaded.variable.dataSync())).toEqual(
      Array.from(tensors.get('base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight')!.data),
    );
    const zero = params.get('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight')!;
    expect(zero.variable.dataSync().every((v) => v === 0)).toBe(true);
    lora.unload();
    // strict: the same folder is refused, every missing key named
    const e = await loadError(out, { strict: true });
    expect(e.message).toContain(
      'missing 3 key(s): base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight, base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight',
    );
  });

  it("PEFT's own folder with one layer's modules left out loads with a warning naming them", async () => {
    const peft = join(import.meta.dirname, 'fixtures', 'peft-lora');
    const out = join(dir, 'peft-partial');
    await mkdir(out, { recursive: true });
    await copyFile(join(peft, ADAPTER_CONFIG_NAME), join(out, ADAPTER_CONFIG_NAME));
    const { tensors } = await readSafetensors(join(peft, ADAPTER_WEIGHTS_NAME));
    for (const k of [...tensors.keys()]) if (k.includes('.layers.1.mlp.')) tensors.delete(k);
    await writeSafetensors(join(out, ADAPTER_WEIGHTS_NAME), tensors, { format: 'pt' });
    const warnings: string[] = [];
    (await loadAdapter(model, out, { onWarning: (w) => warnings.push(w) })).unload();
    const missing = warnings.find((w) => w.includes('found missing adapter keys'));
    expect(missing).toContain(
      'model.layers.1.mlp.gate_proj (lora_A, lora_B), model.layers.1.mlp.up_proj (lora_A, lora_B), model.layers.1.mlp.down_proj (lora_A, lora_B)',
    );
  });

  it('unexpected keys are ignored with a warning (strict: an error); wrong shapes are always an error', async () => {
    const extra = await folderWith('extra', (t) => {
      t.set('base_model.model.model.layers.0.mlp.up_proj.lora_A.weight', {
        shape: [2, 16],
        data: new Float32Array(32),
      });
    });
    const warnings: string[] = [];
    (await loadAdapter(model, extra, { onWarning: (w) => warnings.push(w) })).unload();
    expect(warnings).toEqual([
      expect.stringContaining(
        'found unexpected keys, ignored: base_model.model.model.layers.0.mlp.up_proj.lora_A.weight',
      ),
    ]);
    expect((await loadError(extra, { strict: true })).message).toContain(
      'unexpected 1 key(s): base_model.model.model.layers.0.mlp.up_proj.lora_A.weight',
    );
    const bad = await folderWith('bad', (t) => {
      t.set('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight', {
        shape: [16, 3],
        data: new Float32Array(48),
      });
    });
    expect((await loadError(bad)).message).toContain(
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight: file [16,3], expected [16,2]',
    );
    // a file that matches none of the expected keys (another key layout) would load nothing: refused
    const none = await folderWith('none', (t) => {
      for (const [k, v] of [...t]) {
        t.delete(k);
        t.set(k.replace('base_model.model.', '_orig_mod.base_model.model.'), v);
      }
    });
    expect((await loadError(none)).message).toContain('none of the 8 expected keys is present');
  });

  it('an adapter trained with added tokens (resized embeddings) is refused with what to do', async () => {
    const lora = trained({ target_modules: ['q_proj'], r: 2, modules_to_save: ['lm_head'] });
    const out = join(dir, 'added-tokens');
    await saveAdapter(lora, out);
    lora.unload();
    const { tensors } = await readSafetensors(join(out, ADAPTER_WEIGHTS_NAME));
    const key = 'base_model.model.lm_head.weight';
    const emb = tensors.get(key)!;
    const rows = emb.shape[0]! + 4;
    tensors.set(key, {
      dtype: 'F32',
      shape: [rows, emb.shape[1]!],
      data: new Float32Array(rows * emb.shape[1]!),
    });
    await writeSafetensors(join(out, ADAPTER_WEIGHTS_NAME), tensors, { format: 'pt' });
    await rm(join(out, CHECKSUMS_NAME));
    const e = await loadError(out);
    expect(e.message).toContain(
      `${key} has ${rows} rows where the model's vocabulary has ${TINY.vocab_size}: the adapter was trained after adding 4 token(s)`,
    );
    expect(e.message).toContain(`whose config.json has vocab_size ${rows}`);
  });

  it('a flipped byte in the adapter weights or its config is found on load, naming the tensor', async () => {
    const lora = trained({ target_modules: ['q_proj', 'v_proj'], r: 2 });
    const out = join(dir, 'flip');
    await saveAdapter(lora, out);
    lora.unload();
    const weights = join(out, ADAPTER_WEIGHTS_NAME);
    const file = await openSafetensors(weights);
    expect(file.verification).toBe('header+tensors');
    const key = 'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight';
    const headerEnd = 8 + Number((await readFile(weights)).readBigUInt64LE(0));
    const at = headerEnd + file.entries.get(key)!.begin + 5;
    await file.close();
    for (const [path, offset] of [
      [weights, at],
      [join(out, ADAPTER_CONFIG_NAME), 30],
    ] as const) {
      const original = await readFile(path);
      const flipped = Buffer.from(original);
      flipped[offset] = flipped[offset]! ^ 0x10;
      await writeFile(path, flipped);
      const e = await loadError(out);
      expect(e).toBeInstanceOf(IntegrityError);
      if (path === weights) {
        expect(e.key).toBe(key);
        expect(e.message).toContain(`tensor '${key}' does not match its recorded sha256`);
      } else expect(e.message).toContain('adapter_config.json: the sha256 does not match checksums.json');
      await writeFile(path, original);
    }
    (await loadAdapter(model, out)).unload();
  });

  it('warns on unknown config keys and goes on; rejects invalid values with ConfigError', async () => {
    const out = await folderWith('config', () => {});
    const path = join(out, ADAPTER_CONFIG_NAME);
    const config = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...config, peft_version: '0.99.0', new_option: true }));
    const warnings: string[] = [];
    const lora = await loadAdapter(model, out, { onWarning: (w) => warnings.push(w) });
    expect(warnings.map((w) => w.replace(/^.*: /, ''))).toEqual([
      "ignoring unknown LoraConfig key 'peft_version' (written by a newer PEFT version?)",
      "ignoring unknown LoraConfig key 'new_option' (written by a newer PEFT version?)",
    ]);
    lora.unload();
    await writeFile(path, JSON.stringify({ ...config, r: -1 }));
    await expect(loadAdapter(model, out)).rejects.toBeInstanceOf(ConfigError);
  });
});
