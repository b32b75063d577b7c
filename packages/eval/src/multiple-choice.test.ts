import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HELLASWAG_FILE, haveShared } from '../test/helpers.js';
import { arcItem } from './arc.js';
import { buildContinuationChoiceItems } from './continuation-choice.js';
import type { LogLikelihood, LogLikelihoodRequest } from './generator.js';
import { loadHellaswag, preprocessHellaswag, processHellaswag } from './hellaswag.js';
import { choiceItem, evaluateMultipleChoice, partialItem, scoreMultipleChoice } from './multiple-choice.js';
import { winograndeItem } from './winogrande.js';

/** A deterministic stand-in model: the log-likelihood is a hash of the request (independent of batching). */
const hashModel: LogLikelihood & { calls: number[] } = {
  calls: [],
  async logLikelihood(requests: readonly LogLikelihoodRequest[]) {
    this.calls.push(requests.length);
    return requests.map((r) => {
      const h = createHash('sha256').update(`${r.context}\u0000${r.continuation}`).digest();
      return { logLikelihood: -(h.readUInt32LE(0) / 2 ** 32) * [...r.continuation].length, isGreedy: false };
    });
  },
};

describe('scoreMultipleChoice', () => {
  it('acc takes the largest summed log-likelihood, acc_norm divides by the choice length in characters', () => {
    const item = choiceItem('ctx', ['ab', 'abcdef'], 1);
    expect(item.requests[1]).toEqual({ context: 'ctx', continuation: ' abcdef' });
    // raw: choice 0 wins (-2 > -3); per character: -1 vs -0.5, choice 1 wins
    const s = scoreMultipleChoice([item], [[-2, -3]]);
    expect(s.items[0]).toEqual({ pred: 0, predNorm: 1, acc: 0, accNorm: 1 });
    expect([s.acc, s.accNorm]).toEqual([0, 1]);
  });

  it('breaks ties by the first index and counts code points, as numpy argmax and Python len', () => {
    const tie = scoreMultipleChoice([choiceItem('c', ['x', 'y'], 1)], [[-1, -1]]);
    expect(tie.items[0]!.pred).toBe(0);
    // '😀😀' is 2 characters in Python (4 UTF-16 units): -2/2 = -1 beats -1.5/1
    const emoji = scoreMultipleChoice([choiceItem('c', ['a', '😀😀'], 1)], [[-1.5, -2]]);
    expect(emoji.items[0]!.predNorm).toBe(1);
  });

  it('rejects mismatched shapes and bad gold indices', () => {
    expect(() => scoreMultipleChoice([choiceItem('c', ['x', 'y'], 0)], [[-1]])).toThrow(/expected 2/);
    expect(() => choiceItem('c', ['x'], 1)).toThrow(/gold/);
  });

  it('gives the same scores for every batch size', async () => {
    const items = buildContinuationChoiceItems(
      Array.from({ length: 12 }, (_, i) => `${'word '.repeat(50)}passage ${i} ${'tail '.repeat(30)}${i}`),
      { contextChars: 100, continuationChars: 40 },
    );
    const runs = [];
    for (const batchSize of [1, 3, 7, 1000]) {
      hashModel.calls = [];
      runs.push(await evaluateMultipleChoice(items, hashModel, { batchSize }));
      expect(Math.max(...hashModel.calls)).toBeLessThanOrEqual(batchSize);
    }
    for (const r of runs.slice(1)) expect(r).toEqual(runs[0]);
  });
});

describe('task loaders', () => {
  it("WinoGrande: each option fills the blank, the rest is the shared continuation (lm-eval's partial scoring)", () => {
    const item = winograndeItem({
      sentence: "The trophy doesn't fit into the brown suitcase because the _ is too large.",
      option1: 'trophy',
      option2: 'suitcase',
      answer: '1',
    })!;
    expect(item.requests).toEqual([
      {
        context: "The trophy doesn't fit into the brown suitcase because the trophy",
        continuation: ' is too large.',
      },
      {
        context: "The trophy doesn't fit into the brown suitcase because the suitcase",
        continuation: ' is too large.',
      },
    ]);
    expect(item.gold).toBe(0);
    expect(winograndeItem({ sentence: 'no blank', option1: 'a', option2: 'b', answer: '1' })).toBeUndefined();
    expect(partialItem(['a', 'b'], 't', 1).choices).toEqual(['a', 'b']);
  });

  it('ARC: both the Hugging Face and the AI2 layouts, gold = label index of answerKey', () => {
    const hf = arcItem({
      question: 'Which is a gas?',
      choices: { text: ['ice', 'steam', 'rock'], label: ['A', 'B', 'C'] },
      answerKey: 'B',
    })!;
    const ai2 = arcItem({
      question: {
        stem: 'Which is a gas?',
        choices: [
          { text: 'ice', label: '1' },
          { text: 'steam', label: '2' },
          { text: 'rock', label: '3' },
        ],
      },
      answerKey: '2',
    })!;
    expect(hf.requests[1]).toEqual({ context: 'Question: Which is a gas?\nAnswer:', continuation: ' steam' });
    expect(hf.gold).toBe(1);
    expect(ai2.requests).toEqual(hf.requests);
    expect(ai2.gold).toBe(1);
    expect(
      arcItem({ question: 'q', choices: { text: ['a'], label: ['A'] }, answerKey: 'E' }),
    ).toBeUndefined();
  });

  it("HellaSwag: lm-eval's preprocessing", () => {
    expect(preprocessHellaswag(' How to cook [title] Boil water. [step] Add  salt. ')).toBe(
      'How to cook. Boil water. Add salt.',
    );
    const doc = processHellaswag({
      activity_label: 'Baking cookies',
      ctx_a: 'A woman mixes dough.',
      ctx_b: 'SHE puts it in the OVEN',
      endings: ['and waits.', ' [header] bakes it.'],
      label: '1',
    });
    expect(doc).toEqual({
      query: 'Baking cookies: A woman mixes dough. She puts it in the oven', // ctx_b.capitalize()
      choices: ['and waits.', ' bakes it.'], // the strip comes before the bracket removal
      gold: 1,
    });
  });
});

describe.skipIf(!haveShared(HELLASWAG_FILE))('HellaSwag (real file)', () => {
  // Golden values: tools/reference/eval-hellaswag.py (lm-eval's preprocess in Python); exact.
  const golden = JSON.parse(
    readFileSync(new URL('../test/fixtures/hellaswag-golden.json', import.meta.url), 'utf8'),
  ) as {
    count: number;
    sha256: string;
    first: [string, string[], number][];
  };

  it('preprocesses all 1000 rows exactly as lm-eval', () => {
    const items = loadHellaswag(HELLASWAG_FILE);
    const docs = items.map((it) => [it.requests[0]!.context, it.choices, it.gold]);
    expect(items.length).toBe(golden.count);
    expect(docs.slice(0, 3)).toEqual(golden.first);
    expect(createHash('sha256').update(JSON.stringify(docs), 'utf8').digest('hex')).toBe(golden.sha256);
    expect(
      items.every((it) => it.requests.length === 4 && it.requests[0]!.continuation.startsWith(' ')),
    ).toBe(true);
  });
});
