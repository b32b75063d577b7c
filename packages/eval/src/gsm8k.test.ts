import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GSM8K_TEST_FILE, GSM8K_TRAIN_FILE, haveShared } from '../test/helpers.js';
import type { GenerationRequest, Generator } from './generator.js';
import {
  buildGsm8kPrompts,
  evaluateGsm8k,
  extractFlexible,
  extractStrict,
  type Gsm8kDoc,
  gsm8kExactMatch,
  loadGsm8k,
  normalizeGsm8kAnswer,
  scoreGsm8k,
} from './gsm8k.js';

// Golden values: tools/reference/eval-gsm8k.py (Python `re`, lm-eval's filter and exact_match); exact.
const golden = JSON.parse(
  readFileSync(new URL('../test/fixtures/gsm8k-golden.json', import.meta.url), 'utf8'),
) as {
  reference: string;
  items: {
    response: string;
    strict: string;
    flexible: string;
    strict_correct: boolean;
    flexible_correct: boolean;
    normalized_response: string;
  }[];
};
const pythonRandom = JSON.parse(
  readFileSync(new URL('../test/fixtures/python-random-golden.json', import.meta.url), 'utf8'),
) as { gsm8k_fewshot: number[][] };

describe('GSM8K extraction and exact match', () => {
  it("matches lm-eval's filters and normalisation on edge cases", () => {
    for (const g of golden.items) {
      expect(extractStrict(g.response), g.response).toBe(g.strict);
      expect(extractFlexible(g.response), g.response).toBe(g.flexible);
      expect(gsm8kExactMatch(g.strict, golden.reference), g.response).toBe(g.strict_correct);
      expect(gsm8kExactMatch(g.flexible, golden.reference), g.response).toBe(g.flexible_correct);
      expect(normalizeGsm8kAnswer(g.response), g.response).toBe(g.normalized_response);
    }
  });

  it('truncates at the stop strings before extracting', () => {
    const docs: Gsm8kDoc[] = [{ question: 'q', answer: 'a\n#### 4' }];
    const s = scoreGsm8k(docs, [' 2 + 2 = 4\n#### 4\n\nQuestion: x\nAnswer: #### 5']);
    expect(s.items[0]!.response).toBe(' 2 + 2 = 4\n#### 4\n\n');
    expect(s.strictMatch).toBe(1);
    expect(s.flexibleExtract).toBe(1);
  });
});

describe.skipIf(!haveShared(GSM8K_TEST_FILE) || !haveShared(GSM8K_TRAIN_FILE))('GSM8K (real files)', () => {
  // Loaded in beforeAll: vitest runs a skipped suite's body to collect its tests.
  let test: ReturnType<typeof loadGsm8k>;
  let train: ReturnType<typeof loadGsm8k>;
  beforeAll(() => {
    test = loadGsm8k(GSM8K_TEST_FILE);
    train = loadGsm8k(GSM8K_TRAIN_FILE);
  });

  it('loads 1319 test and 7473 train problems', () => {
    expect(test.length).toBe(1319);
    expect(train.length).toBe(7473);
  });

  it('scores the reference answers of the test split 100% (strict-match and flexible-extract)', () => {
    const s = scoreGsm8k(
      test,
      test.map((d) => ` ${d.answer}`),
    );
    expect(s.strictMatch).toBe(1);
    expect(s.flexibleExtract).toBe(1);
  });

  it("builds lm-eval's 5-shot prompts (exemplars of Random(1234).sample, in document order)", () => {
    const prompts = buildGsm8kPrompts(test.slice(0, 20), train);
    pythonRandom.gsm8k_fewshot.forEach((indices, i) => {
      const shots = indices.map((j) => `Question: ${train[j]!.question}\nAnswer: ${train[j]!.answer}`);
      expect(prompts[i]).toBe(`${shots.join('\n\n')}\n\nQuestion: ${test[i]!.question}\nAnswer:`);
    });
    expect(buildGsm8kPrompts(test.slice(0, 1), train, { numFewshot: 0 })).toEqual([
      `Question: ${test[0]!.question}\nAnswer:`,
    ]);
  });

  it('runs the task through a Generator: greedy requests with the stop strings, in batches', async () => {
    const seen: GenerationRequest[] = [];
    // A test double that answers from the reference answers of the prompts it is given.
    const byQuestion = new Map(test.map((d) => [`Question: ${d.question}\nAnswer:`, d.answer]));
    const generator: Generator = {
      async generate(requests) {
        seen.push(...requests);
        return requests.map((r, i) => {
          const last = r.prompt.slice(r.prompt.lastIndexOf('Question: '));
          return i % 2 === 0 ? ` ${byQuestion.get(last)}\n\nQuestion: more` : ' I do not know';
        });
      },
    };
    const docs = test.slice(0, 10);
    const ev = await evaluateGsm8k(docs, train, generator, { batchSize: 4 });
    expect(seen.length).toBe(10);
    expect(seen.every((r) => r.temperature === 0 && r.stop.includes('Question:'))).toBe(true);
    expect(ev.strictMatch).toBe(0.5);
    expect(ev.prompts).toEqual(buildGsm8kPrompts(docs, train));
  });
});
