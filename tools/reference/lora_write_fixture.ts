// Writes packages/lora/test/fixtures/loralab-dora/: an adapter folder written by loralab's `saveAdapter` (DoRA,
// rank and alpha patterns, modules_to_save) on the tiny base model of lora_golden.py. lora_golden.py then reads it
// with its own safetensors reader and PEFT's key rules and records the logits it implies, so the tests check that
// what loralab writes means to an independent reader what it means to loralab.
// Run: npx tsx --conditions=@loralab/source tools/reference/lora_write_fixture.ts && /usr/bin/python3 tools/reference/lora_golden.py
import { join } from 'node:path';
import { LoraModel, MAGNITUDE, saveAdapter } from '@loralab/lora';
import { initBackend, loadPretrained } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';

const FIXTURES = join(import.meta.dirname, '..', '..', 'packages', 'lora', 'test', 'fixtures');
await initBackend('cpu');
const { model } = await loadPretrained(join(FIXTURES, 'base'));
const lora = new LoraModel(
  model,
  {
    target_modules: ['q_proj', 'o_proj', 'gate_proj'],
    r: 4,
    lora_alpha: 6,
    use_dora: true,
    init_lora_weights: false,
    rank_pattern: { gate_proj: 2 },
    alpha_pattern: { 'model.layers.0.self_attn.o_proj': 3 },
    modules_to_save: ['lm_head'],
  },
  'default',
  { seed: 9 },
);
// Move the magnitudes and the lm_head copy off their initial values, as training would.
tf.tidy(() => {
  lora.adapterParameters().forEach((p, i) => {
    if (p.name.includes(`.${MAGNITUDE}.`)) p.variable.assign(tf.mul(p.variable, 1 + 0.05 * ((i % 5) - 2)));
    if (p.name.includes('.modules_to_save.'))
      p.variable.assign(tf.add(p.variable, tf.randomNormal(p.variable.shape, 0, 0.05, 'float32', 3)));
  });
});
await saveAdapter(lora, join(FIXTURES, 'loralab-dora'), { baseModelNameOrPath: 'tiny-llama' });
console.log('wrote', join(FIXTURES, 'loralab-dora'));
