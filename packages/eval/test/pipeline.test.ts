// The learning-side pipeline with a stand-in model: Generator -> samples (stop strings) -> sandboxed execution
// -> pass@k and diversity, on real HumanEval problems.
import { describe, expect, it } from 'vitest';
import { generateCodeSamples } from '../src/code-generation.js';
import { loadCodeProblems } from '../src/code-problems.js';
import { outputDiversity } from '../src/diversity.js';
import { evaluateCodeSamples } from '../src/evaluate-code.js';
import type { Generator } from '../src/generator.js';
import { HUMANEVAL_FILE, haveShared } from './helpers.js';

describe.skipIf(!haveShared(HUMANEVAL_FILE))('generate, execute, score', () => {
  it('plugs a Generator into HumanEval scoring', async () => {
    const all = loadCodeProblems(HUMANEVAL_FILE);
    const problems = new Map([...all].slice(0, 3));
    const byPrompt = new Map([...problems.values()].map((p) => [p.prompt.trim(), p]));
    // Seeds 0, 1 of each problem: the canonical body (once with a comment) then text past a stop string;
    // seeds 2, 3: a wrong body.
    const generator: Generator = {
      async generate(requests) {
        return requests.map((r) => {
          const p = byPrompt.get(r.prompt)!;
          const k = r.seed % 4;
          if (k === 0) return `\n${p.canonical_solution}\n\ndef unused():\n    pass\n`;
          if (k === 1) return `\n    # same solution\n${p.canonical_solution}\nprint('after a stop string')`;
          return '\n    return None\n';
        });
      },
    };
    const samples = await generateCodeSamples(problems.values(), generator, { n: 4 });
    expect(
      samples.every((s) => !s.completion.includes('def unused') && !s.completion.includes('print(')),
    ).toBe(true);
    const ev = await evaluateCodeSamples(problems, samples);
    expect([...ev.counts.values()]).toEqual([
      { total: 4, correct: 2 },
      { total: 4, correct: 2 },
      { total: 4, correct: 2 },
    ]);
    expect(ev.passAtK['pass@1']).toBeCloseTo(0.5, 14);
    expect(ev.passAtK['pass@4']).toBe(1);
    const d = outputDiversity(ev.results);
    expect(d.mean.passing).toEqual({ samples: 2, unique: 2, uniqueNormalized: 1 }); // differ only by a comment
    expect(d.mean.failing).toEqual({ samples: 2, unique: 1, uniqueNormalized: 1 });
  }, 60_000);
});
