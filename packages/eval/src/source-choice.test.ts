import { describe, expect, it } from 'vitest';
import { buildClozeChoiceItems, buildWordOrderChoiceItems } from './source-choice.js';

const PASSAGES = [
  'The morning was cold and the river was quiet. A small boat drifted slowly past the old stone bridge near the mill. ' +
    'Nobody on the shore seemed to notice the boat at all. Later that evening the wind turned and brought heavy rain over the hills.',
  'Fellow citizens, the state of the union is strong. Our farmers have gathered a plentiful harvest this year. ' +
    'Congress should consider the question of the public debt with great care. We must also protect the commerce of our coastal towns.',
];

const sentences = (item: { requests: { continuation: string }[] }) =>
  item.requests.map((r) => r.continuation.slice(1));

describe('word cloze items', () => {
  const items = buildClozeChoiceItems(PASSAGES, { seed: 7 });

  it('keeps the original sentence as the gold choice and changes exactly one word in each distractor', () => {
    expect(items.length).toBeGreaterThanOrEqual(4);
    for (const item of items) {
      expect(item.choices).toHaveLength(4);
      expect(new Set(item.choices).size).toBe(4);
      const gold = item.choices[item.gold]!;
      expect(PASSAGES.some((p) => p.includes(gold))).toBe(true);
      const goldWords = gold.split(' ');
      for (const [j, c] of item.choices.entries()) {
        if (j === item.gold) continue;
        const diff = c.split(' ').filter((w, i) => w !== goldWords[i]);
        expect(diff).toHaveLength(1);
        expect(diff[0]).toMatch(/^[a-z]{4,}$/);
      }
      // Every choice is scored after the same preceding text, which ends where the sentence starts.
      expect(new Set(item.requests.map((r) => r.context)).size).toBe(1);
      const context = item.requests[0]!.context;
      expect(PASSAGES.some((p) => p.includes(`${context} ${gold}`))).toBe(true);
      expect(sentences(item)).toEqual(item.choices);
    }
  });

  it('puts the gold choice at varied positions and is a pure function of the seed', () => {
    expect(new Set(items.map((i) => i.gold)).size).toBeGreaterThan(1);
    expect(buildClozeChoiceItems(PASSAGES, { seed: 7 })).toEqual(items);
    expect(buildClozeChoiceItems(PASSAGES, { seed: 8 })).not.toEqual(items);
  });
});

describe('word order items', () => {
  const items = buildWordOrderChoiceItems(PASSAGES, { seed: 3 });

  it('offers the sentence against copies with one adjacent pair swapped', () => {
    expect(items.length).toBeGreaterThanOrEqual(4);
    for (const item of items) {
      expect(new Set(item.choices).size).toBe(4);
      const gold = item.choices[item.gold]!.split(' ');
      for (const [j, c] of item.choices.entries()) {
        if (j === item.gold) continue;
        const words = c.split(' ');
        expect([...words].sort()).toEqual([...gold].sort());
        const diff = words.map((w, i) => (w === gold[i] ? -1 : i)).filter((i) => i >= 0);
        expect(diff).toHaveLength(2);
        expect(diff[1]! - diff[0]!).toBe(1);
      }
    }
  });

  it('refuses options it cannot honour, by name', () => {
    expect(() => buildWordOrderChoiceItems(PASSAGES, { numChoices: 1 })).toThrow(/numChoices/);
    expect(() => buildClozeChoiceItems(['tiny text.'], {})).toThrow(/distinct words/);
  });
});
