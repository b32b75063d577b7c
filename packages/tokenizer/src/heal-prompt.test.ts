import { beforeAll, describe, expect, it } from 'vitest';
import type { Tokenizer } from './tokenizer.js';
import { trainBpeTokenizer } from './train-bpe.js';

// Byte-level BPE merges a newline with the indentation after it ("\n   " + " return"), and a space with the word
// after it (" 72"): a prompt that ends in "\n" or " " ends on a token boundary that training never had.
describe('Tokenizer.healPrompt', () => {
  let tok: Tokenizer;
  const encode = async (t: string) => (await tok.encode(t, { addSpecialTokens: false })).ids;
  beforeAll(async () => {
    const texts = Array.from(
      { length: 200 },
      (_, i) => `def f${i}(x):\n    return x + ${i}\n\nQuestion: what is ${i} + 1?\nAnswer: ${i + 1}\n`,
    );
    tok = await trainBpeTokenizer({ texts, vocabSize: 400 });
  });

  it.each([
    ['def g(y):\n', '    return y + 3\n'],
    ['Question: what is 5 + 1?\nAnswer: ', '6'],
  ])('the whole text starts with the healed prompt and then an allowed token (%j)', async (prompt, rest) => {
    const ids = await encode(prompt);
    const whole = await encode(prompt + rest);
    // The failure healing mends: the prompt's own last token is not where the whole text has a boundary.
    expect(whole.slice(0, ids.length)).not.toEqual(ids);
    const healed = tok.healPrompt(ids);
    expect(healed.ids).toEqual(ids.slice(0, -1));
    expect(whole.slice(0, healed.ids.length)).toEqual(healed.ids);
    expect(healed.allowed).toContain(whole[healed.ids.length]);
    expect(healed.tail).toBe(prompt.endsWith('\n') ? '\n' : ' ');
    // Every allowed token's text starts with the dropped token's text, and the dropped token itself is allowed.
    expect(healed.allowed).toContain(ids.at(-1));
    for (const id of healed.allowed!) expect(tok.decodeSync([id]).startsWith(healed.tail)).toBe(true);
  });

  it('leaves a prompt alone when it ends with an added token, or with a token no other extends', async () => {
    const chat = await encode('Answer: 7<|endoftext|>');
    expect(tok.healPrompt(chat)).toEqual({ ids: chat, tail: '', allowed: null });
    const ids = await encode('Answer: 72');
    const last = tok.decodeSync([ids.at(-1)!]);
    const extended = Array.from({ length: tok.vocabSize }, (_, id) => id).filter(
      (id) => id !== ids.at(-1) && !tok.specialIds.has(id) && tok.decodeSync([id]).startsWith(last),
    );
    if (extended.length === 0) expect(tok.healPrompt(ids)).toEqual({ ids, tail: '', allowed: null });
    else expect(tok.healPrompt(ids).allowed).toHaveLength(extended.length + 1);
    expect(tok.healPrompt([ids[0]!])).toEqual({ ids: [ids[0]!], tail: '', allowed: null });
  });
});
