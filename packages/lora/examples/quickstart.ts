import { LoraModel, loadAdapter, saveAdapter } from '@loralab/lora';
import { initBackend, LlamaForCausalLM, openSafetensors } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';

await initBackend('cpu');
const config = {
  vocab_size: 64,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
};
const model = new LlamaForCausalLM(config, { seed: 0 });
const lora = new LoraModel(model, { r: 8, lora_alpha: 16, lora_dropout: 0.05, target_modules: 'all-linear' });
console.log(lora.trainableParameterReport().text);
const ids = [[1, 5, 9, 13, 17, 21]];
const { loss, grads } = model.lossAndGradients(ids, ids); // gradients of the adapters only: the base is frozen
for (const p of lora.trainableParameters())
  p.variable.assign(tf.sub(p.variable, tf.mul(grads.get(p.name)!, 0.1)));
console.log((await loss.data())[0]!.toFixed(4), grads.size, [...grads.keys()].sort()[0]);
await saveAdapter(lora, '/tmp/tiny-lora', { baseModelNameOrPath: 'tiny-llama' }); // a PEFT adapter folder
const file = await openSafetensors('/tmp/tiny-lora/adapter_model.safetensors');
for (const [key, e] of [...file.entries].slice(0, 3)) console.log(key, e.shape);
await file.close();
const merged = await lora.mergeAndUnload().forward(ids).data(); // W += s·B·A, wrappers removed
const again = await loadAdapter(new LlamaForCausalLM(config, { seed: 0 }), '/tmp/tiny-lora');
const loaded = await again.model.forward(ids).data();
console.log(again.targetedModules().length, Math.max(...merged.map((v, i) => Math.abs(v - loaded[i]!))));
