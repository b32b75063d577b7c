import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveExperimentConfig } from './config.js';
import { buildEvalSets } from './evaluation.js';
import { type Records, readHeldOut, trainText } from './prepare-data.js';

const shared = join(import.meta.dirname, '../../../../../shared/data');

describe('held-out and training text', () => {
  it('splits the source domain by a hash of each document, disjointly, and keeps only what evaluation uses', async () => {
    const config = resolveExperimentConfig({
      data: {
        source: { kind: 'brown', categories: ['r', 'p'] },
        mathTrain: { kind: 'math', split: 'train', count: 20 },
        codeTrain: { kind: 'code-corpus', count: 5 },
      },
      eval: {
        sourceDocs: 2,
        choiceItems: 2,
        choices: 2,
        targetLossItems: 3,
        mathProblems: 2,
        diversityPrompts: 1,
        codeTasks: 2,
        validationItems: 2,
      },
      tokenizer: { docsPerCorpus: 3 },
    });
    const held = await readHeldOut(config);
    expect(held.sourceTest.length).toBeLessThanOrEqual(2 + 4 * 2 + 2);
    // the test items plus the validation items (the last 2), kept apart by buildEvalSets
    expect(held.mathTest).toHaveLength(3 + 2);
    expect(held.codeTest).toHaveLength(3 + 2);
    const text = await trainText(config, true);
    const all = async <T>(records: Records<T>) => {
      const out: T[] = [];
      for await (const r of records()) out.push(r);
      return out;
    };
    const train = await all(text.source!);
    expect(train.length).toBeGreaterThan(10);
    for (const t of held.sourceTest) expect(train).not.toContain(t);
    // a stream yields the same records on every pass (resume of a half-written dataset relies on it)
    expect(await all(text.source!)).toEqual(train);
    expect(text.tokenizerSample).toHaveLength(3 + 3 + 3);
    expect(text.tokenizerSample.slice(0, 3)).toEqual(train.slice(0, 3));
    const math = await all(text.math);
    expect(math).toHaveLength(20);
    expect(Object.keys(math[0]!)).toEqual(['instruction', 'output']);
    // the two other conditions' sets: code tasks as conversations, math problems as plain text
    expect(Object.keys((await all(text.codeInstruct))[0]!)).toEqual(['instruction', 'output']);
    expect((await all(text.mathText))[0]).toMatch(/^Question: [\s\S]+\nAnswer: [\s\S]+#### /);
    expect((await trainText(config, false)).source).toBeNull();
    // Code CPT reads data.codeText (the default's easy corpus); the tokenizer's code sample stays data.codeTrain's,
    // so the base's recipe does not move with the CPT corpus. Null codeText falls back to codeTrain.
    const easy = /k: int = \d+\)/;
    expect((await all(text.code)).every((t) => easy.test(t))).toBe(true);
    expect(text.tokenizerSample.slice(6).some((t) => easy.test(t))).toBe(false);
    const fallback = await trainText(
      resolveExperimentConfig({ ...config, data: { ...config.data, codeText: null } }),
      false,
    );
    const fallbackCode = await all(fallback.code);
    expect(fallbackCode).toHaveLength(5);
    expect(fallbackCode.slice(0, 3)).toEqual(text.tokenizerSample.slice(6));
  });

  it.skipIf(!existsSync(shared))(
    'reads the real GSM8K and HumanEval files as held-out sets (../shared)',
    async () => {
      const config = resolveExperimentConfig({
        data: {
          mathTest: { kind: 'jsonl', paths: [join(shared, 'gsm8k/test.jsonl')] },
          codeTest: { kind: 'jsonl', paths: [join(shared, 'humaneval/HumanEval.jsonl.gz')] },
        },
        eval: { targetLossItems: 5, mathProblems: 5, codeTasks: 4, sourceDocs: 3, choiceItems: 3 },
      });
      const held = await readHeldOut(config);
      expect(held.mathTest[0]!.answer).toMatch(/#### \d+/);
      expect(held.codeTest[0]!.task_id).toBe('HumanEval/0');
      const sets = buildEvalSets(config, held);
      expect(sets.code.tasks).toHaveLength(4);
      // validation items (the lr choice) are never among the test items
      expect(sets.math.validation).toHaveLength(config.eval.validationItems);
      for (const v of sets.math.validation) expect(sets.math.loss).not.toContainEqual(v);
      for (const v of sets.code.validation)
        expect(sets.code.loss.map((c) => c.task_id)).not.toContain(v.task_id);
      // three multiple-choice tasks of equal size, averaged into source_mc_acc
      expect(sets.choiceTasks.map((t) => t.task)).toEqual(['continuation', 'cloze', 'word_order']);
      for (const t of sets.choiceTasks) expect(t.items).toHaveLength(3);
      expect(sets.sourceDocs).toHaveLength(3);
    },
  );
});
