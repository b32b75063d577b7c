import { describe, expect, it } from 'vitest';
import { PAPER_LIKE, syntheticResults } from '../../test/synthetic-results.js';
import { summariseArms } from './analysis.js';
import { readingNotes } from './reading.js';

describe('readingNotes', () => {
  const notesWith = (metrics: Record<string, number>) => {
    const results = syntheticResults(PAPER_LIKE);
    Object.assign(results.base.metrics, metrics);
    return readingNotes(results, summariseArms(results)).filter((n) => n.startsWith('In-context copying'));
  };

  it("says from the base's copy gain whether it copies in context", () => {
    const [cannot] = notesWith({ random_copy_gain: 0.03, source_copy_gain: 0.21 });
    expect(cannot).toContain('gains 0.03 nats on random token ids and 0.21 on held-out source text');
    expect(cannot).toContain('needs finetuning to teach that copy');
    const [can] = notesWith({ random_copy_gain: 4.2 });
    expect(can).toContain('it copies in context');
    // Results written before the diagnostic existed say nothing about it.
    expect(notesWith({})).toEqual([]);
  });
});

describe('readingNotes target scores', () => {
  it('states the best score per domain and says when all sit at zero', () => {
    const results = syntheticResults(PAPER_LIKE); // IFT math arms
    const arms = summariseArms(results);
    const note = (score: number) => {
      for (const a of arms) a.metrics.target_score = score;
      return readingNotes(results, arms).find((n) => n.startsWith('Target scores'));
    };
    expect(note(0.125)).toBe(
      'Target scores reach at most: math exact match 12.5%; learning is judged on held-out target loss (every arm has it), the scores are context.',
    );
    expect(note(0)).toBe(
      'Target scores reach at most: math exact match 0.0% (at or near zero); all at or near zero, so learning is judged on held-out target loss and the scores are context.',
    );
  });
});
