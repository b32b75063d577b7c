import { generate, initBackend, LlamaForCausalLM, logLikelihood } from '@loralab/model';
import { type Tokenizer, trainBpeTokenizer } from '@loralab/tokenizer';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeContextContinuation, modelGenerator, modelLogLikelihood } from './model-adapters.js';

let tok: Tokenizer;
let model: LlamaForCausalLM;
beforeAll(async () => {
  await initBackend('cpu');
  const words = ['Question:', 'Answer:', 'two', 'plus', 'three', 'is', 'five', 'def', 'return', '####', '42'];
  const texts = Array.from({ length: 200 }, (_, i) =>
    words.map((_, j) => words[(i * 7 + j * 3) % words.length]).join(' '),
  );
  tok = await trainBpeTokenizer({ texts, vocabSize: 320 });
  model = new LlamaForCausalLM(
    {
      vocab_size: tok.vocabSize,
      hidden_size: 16,
      intermediate_size: 24,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 64,
      bos_token_id: tok.bos!.id,
      eos_token_id: tok.eos!.id,
      pad_token_id: tok.pad!.id,
    },
    { seed: 3 },
  );
});
afterAll(() => model.dispose());

const request = { stop: ['\n'], maxNewTokens: 6, temperature: 0, topP: 1, seed: 0 };

describe('modelGenerator', () => {
  it('batches greedy requests with the results of one-at-a-time generation', async () => {
    const gen = modelGenerator(model, tok, { batchSize: 4 });
    const prompts = ['Question: two plus three', 'def', 'Answer: five is', 'two'];
    const before = tf.memory().numTensors;
    const batched = await gen.generate(prompts.map((prompt) => ({ ...request, prompt })));
    const single = [];
    for (const prompt of prompts) single.push(...(await gen.generate([{ ...request, prompt }])));
    expect(batched).toEqual(single);
    expect(tf.memory().numTensors).toBe(before);
    // The same text that @loralab/model's generate gives for the encoded prompt.
    const ids = (await tok.encode(prompts[0]!, { addSpecialTokens: true })).ids;
    const direct = await generate(model, [ids], {
      maxNewTokens: 6,
      stopTokens: [tok.eos!.id],
      stopStrings: ['\n'],
      decode: (x) => tok.decodeSync(x),
    });
    expect(batched[0]).toBe(direct.texts![0]!.replace('<|end_of_text|>', ''));
  });

  it('gives each sampled request its own seed, whatever it is batched with', async () => {
    const gen = modelGenerator(model, tok);
    const sampled = { ...request, temperature: 0.8, topP: 0.95, prompt: 'two plus' };
    const alone = await gen.generate([{ ...sampled, seed: 11 }]);
    const together = await gen.generate([
      { ...sampled, seed: 10 },
      { ...sampled, seed: 11 },
    ]);
    expect(together[1]).toBe(alone[0]);
  });

  it('heals prompts on request: the first token extends the dropped one, and the completion omits its text', async () => {
    const prompt = 'Question: two plus three is ';
    const plain = await modelGenerator(model, tok).generate([{ ...request, prompt }]);
    const [healedText] = await modelGenerator(model, tok, { tokenHealing: true }).generate([
      { ...request, prompt },
    ]);
    const ids = (await tok.encode(prompt, { addSpecialTokens: true })).ids;
    const healed = tok.healPrompt(ids);
    expect(healed.tail).toBe(' ');
    // Greedy among the tokens that extend " ": the completion is that token's text less the space, then the rest.
    const direct = await generate(model, [healed.ids], {
      maxNewTokens: 6,
      stopTokens: [tok.eos!.id],
      stopStrings: ['\n'],
      decode: (x) => tok.decodeSync(x),
      firstTokens: [healed.allowed],
    });
    expect(healed.allowed).toContain(direct.tokens[0]![0]);
    expect(healedText).toBe(direct.texts![0]!.replace('<|end_of_text|>', '').slice(1));
    // Off by default, as lm-evaluation-harness: the prompt is used as encoded.
    expect(plain[0]).toBe(
      (
        await generate(model, [ids], {
          maxNewTokens: 6,
          stopTokens: [tok.eos!.id],
          stopStrings: ['\n'],
          decode: (x) => tok.decodeSync(x),
        })
      ).texts![0]!.replace('<|end_of_text|>', ''),
    );
  });
});

describe('modelLogLikelihood', () => {
  it("encodes pairs as lm-evaluation-harness does (context's trailing space goes to the continuation)", async () => {
    const pair = await encodeContextContinuation(tok, 'Question: two plus three ', 'is five');
    const whole = (await tok.encode('Question: two plus three is five', { addSpecialTokens: false })).ids;
    expect([...pair.context, ...pair.continuation]).toEqual(whole);
    expect(pair.context).toEqual(
      (await tok.encode('Question: two plus three', { addSpecialTokens: false })).ids,
    );
  });

  it('scores continuations with the model and whole texts in windows', async () => {
    const ll = modelLogLikelihood(model, tok);
    const [r] = await ll.logLikelihood([{ context: 'two plus', continuation: ' three' }]);
    const pair = await encodeContextContinuation(tok, 'two plus', ' three');
    const [direct] = await logLikelihood(model, [pair]);
    expect(r!.logLikelihood).toBeCloseTo(direct!.logprob, 6);
    expect(r!.logLikelihood).toBeLessThan(0);

    const text = 'Question: two plus three Answer: five #### 42 def return two';
    const ids = (await tok.encode(text, { addSpecialTokens: false })).ids;
    const [whole] = await ll.rollingLogLikelihood([text]);
    const [fromBos] = await logLikelihood(model, [{ context: [], continuation: ids }]);
    expect(whole!.tokens).toBe(ids.length);
    expect(whole!.logLikelihood).toBeCloseTo(fromBos!.logprob, 5); // one window: the text fits
    // Windows of 4 tokens: each window is predicted from the 4 tokens before it (the first from BOS alone).
    const windowed = await modelLogLikelihood(model, tok, { maxLength: 4 }).rollingLogLikelihood([text]);
    let expected = 0;
    for (let s = 0; s < ids.length; s += 4) {
      const [w] = await logLikelihood(
        model,
        [{ context: ids.slice(Math.max(0, s - 4), s), continuation: ids.slice(s, s + 4) }],
        { maxLength: 4 },
      );
      expected += w!.logprob;
    }
    expect(windowed[0]!.logLikelihood).toBeCloseTo(expected, 5);
    expect(windowed[0]!.logLikelihood).not.toBeCloseTo(whole!.logLikelihood, 3);
  });

  it('scores many texts of different lengths together as it scores each alone, in order', async () => {
    const texts = [
      'two',
      '',
      'Question: two plus three Answer: five',
      'def return two #### 42 plus three five',
    ];
    const ll = modelLogLikelihood(model, tok, { maxLength: 5, batchSize: 3 });
    const before = tf.memory().numTensors;
    const together = await ll.rollingLogLikelihood(texts);
    expect(tf.memory().numTensors).toBe(before);
    expect(together).toHaveLength(texts.length);
    for (const [i, text] of texts.entries()) {
      const [alone] = await ll.rollingLogLikelihood([text]);
      expect(together[i]!.tokens).toBe(alone!.tokens);
      expect(together[i]!.logLikelihood).toBeCloseTo(alone!.logLikelihood, 4);
    }
    expect(together[1]).toEqual({ logLikelihood: 0, tokens: 0 });
  });
});
