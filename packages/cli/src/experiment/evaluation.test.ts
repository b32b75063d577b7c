// IFT prompts and target losses are encoded as training encoded the conversations (chat control tokens as such).
import { fileURLToPath } from 'node:url';
import { codeProblemCount, generateCodeTasks, generateMathProblems } from '@loralab/data';
import { CHATML_TEMPLATE, encodeChat, Tokenizer } from '@loralab/tokenizer';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXPERIMENT } from './config.js';
import { lossRequests, promptIds } from './evaluation.js';

const BASE = fileURLToPath(new URL('../../base', import.meta.url));

describe('evaluation prompts', () => {
  let tok: Tokenizer;
  beforeAll(async () => {
    tok = await Tokenizer.fromPretrained(BASE);
  });
  const prompt = 'def add(a: int, b: int) -> int:\n    """Return a plus b."""\n';
  const answer = '    return a + b\n';

  it('an IFT prompt is the prefix training saw: the user turn and the generation prompt, control tokens as such', async () => {
    const [ids] = await promptIds(tok, 'ift', [prompt], CHATML_TEMPLATE);
    const chat = await encodeChat(tok, [{ role: 'user', content: prompt }], {
      addGenerationPrompt: true,
      chatTemplate: CHATML_TEMPLATE,
    });
    expect(ids).toEqual(chat.ids);
    const start = tok.tokenToId('<|im_start|>')!;
    expect(ids!.filter((t) => t === start)).toHaveLength(2);
    // A CPT prompt is plain text.
    const [plain] = await promptIds(tok, 'cpt', [prompt], CHATML_TEMPLATE);
    expect(plain).toEqual((await tok.encode(prompt, { addSpecialTokens: false })).ids);
  });

  it("an IFT target loss scores the assistant turn's tokens, training's loss mask, after the conversation before it", async () => {
    const [r] = await lossRequests(tok, {
      task: 'ift',
      chatTemplate: CHATML_TEMPLATE,
      items: [{ prompt, answer }],
    });
    const chat = await encodeChat(
      tok,
      [
        { role: 'user', content: prompt },
        { role: 'assistant', content: answer },
      ],
      { chatTemplate: CHATML_TEMPLATE },
    );
    const masked = chat.ids.filter((_, i) => chat.assistantMask[i] === 1);
    expect(r!.continuation).toEqual(masked);
    expect(r!.continuation.at(-1)).toBe(tok.tokenToId('<|im_end|>'));
    expect([...r!.context, ...r!.continuation]).toEqual(chat.ids.slice(0, r!.context.length + masked.length));
    const [cpt] = await lossRequests(tok, {
      task: 'cpt',
      chatTemplate: CHATML_TEMPLATE,
      items: [{ prompt, answer }],
    });
    expect(tok.decodeSync([...cpt!.context, ...cpt!.continuation])).toBe(prompt + answer);
  });
});

describe('generation budgets', () => {
  // A response cut off by the budget can never pass, so a budget below a reference solution caps the score.
  it("every generated code task's canonical solution and every default math answer fit the default budgets", async () => {
    const tok = await Tokenizer.fromPretrained(BASE);
    const length = async (text: string) => (await tok.encode(text, { addSpecialTokens: false })).ids.length;
    let code = 0;
    for (const split of ['train', 'test'] as const) {
      for (const r of generateCodeTasks({ split, count: codeProblemCount(split) })) {
        code = Math.max(code, await length(r.canonical_solution));
      }
    }
    expect(code).toBeLessThanOrEqual(DEFAULT_EXPERIMENT.eval.codeMaxNewTokens);
    const test = DEFAULT_EXPERIMENT.data.mathTest;
    let math = 0;
    if (test.kind !== 'math') throw new Error('the default math test set is generated');
    for (const r of generateMathProblems({ split: 'test', count: test.count, level: test.level })) {
      math = Math.max(math, await length(r.answer));
    }
    expect(math).toBeLessThanOrEqual(DEFAULT_EXPERIMENT.eval.mathMaxNewTokens);
  });
});
