import { describe, expect, it } from 'vitest';
import type { RollingLogLikelihood } from './generator.js';
import { evaluatePerplexity, scorePerplexity } from './perplexity.js';

describe('scorePerplexity', () => {
  it('has the closed forms of lm-eval: one bit per byte, e per word, e^2 per token', () => {
    const texts = ['a bc', 'héllo world x']; // bytes 4 + 14 = 18, words 2 + 3 = 5
    const bytes = 18;
    const s = scorePerplexity(texts, [
      { logLikelihood: -Math.LN2 * 4, tokens: 0 },
      { logLikelihood: -Math.LN2 * 14, tokens: 0 },
    ]);
    expect(s.bytes).toBe(bytes);
    expect(s.words).toBe(5);
    expect(s.bitsPerByte).toBeCloseTo(1, 14);
    expect(s.bytePerplexity).toBeCloseTo(2, 14);
    const w = scorePerplexity(texts, [
      { logLikelihood: -2, tokens: 1 },
      { logLikelihood: -3, tokens: 1.5 },
    ]);
    expect(w.wordPerplexity).toBeCloseTo(Math.E, 14);
    expect(w.tokenPerplexity).toBeCloseTo(Math.E ** 2, 13);
  });

  it('counts words as re.split(r"\\s+"): empty pieces at the ends count, \\x1c is whitespace', () => {
    const s = scorePerplexity(
      [' a  b\n', 'x\x1cy'],
      [
        { logLikelihood: -1, tokens: 1 },
        { logLikelihood: -1, tokens: 1 },
      ],
    );
    expect(s.words).toBe(4 + 2);
  });

  it('does not depend on the batch size', async () => {
    const model: RollingLogLikelihood = {
      async rollingLogLikelihood(texts) {
        return texts.map((t) => ({ logLikelihood: -0.7 * t.length, tokens: Math.ceil(t.length / 3) }));
      },
    };
    const texts = Array.from({ length: 10 }, (_, i) => `text number ${i} ${'z'.repeat(i)}`);
    const a = await evaluatePerplexity(texts, model, { batchSize: 1 });
    const b = await evaluatePerplexity(texts, model, { batchSize: 4 });
    expect(b).toEqual(a);
  });
});
