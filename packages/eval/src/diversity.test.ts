import { describe, expect, it } from 'vitest';
import { buildContinuationChoiceItems } from './continuation-choice.js';
import { normalizeCompletion, outputDiversity } from './diversity.js';

describe('normalizeCompletion', () => {
  it('drops comments and collapses whitespace, but keeps "#" inside strings', () => {
    expect(normalizeCompletion('    x = 1  # one\n\n    return x\n')).toBe('x = 1 return x');
    expect(normalizeCompletion("    s = '#not a comment'  # a comment\n")).toBe("s = '#not a comment'");
    expect(normalizeCompletion('    s = """a\n# inside\n"""\n    # out\n')).toBe('s = """a # inside """');
    expect(normalizeCompletion('    s = "a\\"#b"\n')).toBe('s = "a\\"#b"');
  });
});

describe('outputDiversity', () => {
  it('counts distinct completions per problem, exactly and normalised, split by passing', () => {
    const d = outputDiversity([
      { task_id: 'A', completion: '    return 1\n', passed: true },
      { task_id: 'A', completion: '    return 1  # same\n', passed: true },
      { task_id: 'A', completion: '    return 1\n', passed: true },
      { task_id: 'A', completion: '    return 2\n', passed: false },
      { task_id: 'B', completion: '    pass\n', passed: false },
    ]);
    expect(d.problems[0]).toEqual({
      task_id: 'A',
      all: { samples: 4, unique: 3, uniqueNormalized: 2 },
      passing: { samples: 3, unique: 2, uniqueNormalized: 1 },
      failing: { samples: 1, unique: 1, uniqueNormalized: 1 },
    });
    expect(d.mean.all).toEqual({ samples: 2.5, unique: 2, uniqueNormalized: 1.5 });
    expect(d.mean.passing).toEqual({ samples: 1.5, unique: 1, uniqueNormalized: 0.5 });
  });
});

describe('buildContinuationChoiceItems', () => {
  it('pairs each context with its true continuation among continuations from other passages', () => {
    const passages = Array.from(
      { length: 6 },
      (_, i) => `Passage ${i} starts here and goes on. It continues as number ${i} ends.`,
    );
    const items = buildContinuationChoiceItems(passages, { contextChars: 30, continuationChars: 100 });
    expect(items).toHaveLength(6);
    items.forEach((item, i) => {
      expect(item.requests[0]!.context.startsWith(`Passage ${i} `)).toBe(true);
      expect(item.choices).toHaveLength(4);
      expect(item.choices[item.gold]).toContain(`number ${i} ends.`);
      expect(new Set(item.choices).size).toBe(4);
    });
    expect(buildContinuationChoiceItems(passages, { contextChars: 30 })).toEqual(items); // seeded
    expect(() => buildContinuationChoiceItems(passages.slice(0, 2), { contextChars: 30 })).toThrow(
      /at least 4/,
    );
  });
});
