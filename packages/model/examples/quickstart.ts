import { generate, initBackend, LlamaForCausalLM, loadPretrained, savePretrained } from '@loralab/model';

const backend = await initBackend(); // LORALAB_BACKEND or the best installed backend (native when built)
const config = {
  vocab_size: 64,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
};
const model = new LlamaForCausalLM(config, { seed: 0 });
const ids = [[1, 5, 9, 13, 17, 21]];
const { loss, numTokens, grads } = model.lossAndGradients(ids, ids); // summed loss, target count
console.log(backend, numTokens, ((await loss.data())[0]! / numTokens).toFixed(4), grads.size);
await savePretrained(model, '/tmp/tiny-llama'); // config.json + model.safetensors
const { model: again, report } = await loadPretrained('/tmp/tiny-llama');
console.log(report, (await generate(again, ids, { maxNewTokens: 5, stopTokens: [] })).tokens);
