import { describe, expect, it } from 'vitest';
import { generateCodeSamples } from './code-generation.js';
import type { CodeProblem } from './code-problems.js';
import type { GenerationRequest, Generator } from './generator.js';
import { HUMANEVAL_STOP_STRINGS, truncateAtStop } from './stop-strings.js';

const problem: CodeProblem = {
  task_id: 'T/0',
  prompt: 'def f(x):\n    """Double."""\n',
  canonical_solution: '    return 2 * x\n',
  test: 'def check(c):\n    assert c(2) == 4\n',
  entry_point: 'f',
};

describe('truncateAtStop', () => {
  it('cuts at the earliest stop string, as bigcode _stop_at_stop_token', () => {
    const text = '    return 2 * x\n\nprint(f(2))\ndef g():\n    pass';
    expect(truncateAtStop(text, HUMANEVAL_STOP_STRINGS)).toBe('    return 2 * x\n');
    expect(truncateAtStop('    return x\nif __name__', HUMANEVAL_STOP_STRINGS)).toBe('    return x');
    expect(truncateAtStop('    # keep\n    return x\n# drop', HUMANEVAL_STOP_STRINGS)).toBe(
      '    # keep\n    return x',
    );
    expect(truncateAtStop('    return x\n```\n', HUMANEVAL_STOP_STRINGS)).toBe('    return x');
    expect(truncateAtStop('no stop', HUMANEVAL_STOP_STRINGS)).toBe('no stop');
    expect(truncateAtStop('abc', ['', 'c'])).toBe('ab');
  });
});

describe('generateCodeSamples', () => {
  it("asks for n samples at the paper's settings and cuts them at the stop strings", async () => {
    const seen: GenerationRequest[] = [];
    const generator: Generator = {
      async generate(requests) {
        seen.push(...requests);
        return requests.map((r) => `\n    return 2 * x  # seed ${r.seed}\n\ndef extra():\n    pass`);
      },
    };
    const samples = await generateCodeSamples([problem, { ...problem, task_id: 'T/1' }], generator, {
      n: 3,
      batchSize: 4,
    });
    expect(samples.map((s) => s.task_id)).toEqual(['T/0', 'T/0', 'T/0', 'T/1', 'T/1', 'T/1']);
    expect(samples[4]!.completion).toBe('\n    return 2 * x  # seed 4\n');
    expect(seen[0]).toEqual({
      prompt: 'def f(x):\n    """Double."""', // bigcode strips the prompt
      stop: HUMANEVAL_STOP_STRINGS,
      maxNewTokens: 512,
      temperature: 0.2,
      topP: 0.95,
      seed: 0,
    });
    const unstripped = await generateCodeSamples([problem], generator, { n: 1, stripPrompt: false });
    expect(seen.at(-1)!.prompt).toBe(problem.prompt);
    expect(unstripped).toHaveLength(1);
  });
});
