// Stop strings and the truncation the reference harnesses apply to generated text.

/**
 * HumanEval stop strings of Chen et al. 2021 and bigcode-evaluation-harness's `humaneval` task
 * (the paper's code evaluation): a new top-level statement ends the function body.
 */
export const HUMANEVAL_STOP_STRINGS: readonly string[] = [
  '\nclass',
  '\ndef',
  '\n#',
  '\n@',
  '\nprint',
  '\nif',
  '\n```',
];

/** lm-evaluation-harness `gsm8k` generation_kwargs.until. */
export const GSM8K_STOP_STRINGS: readonly string[] = ['Question:', '</s>', '<|im_end|>'];

/**
 * Cuts `text` at the earliest occurrence of any stop string (the stop string itself removed), as
 * bigcode-evaluation-harness's `_stop_at_stop_token` and lm-evaluation-harness's `until` do.
 * Empty stop strings are ignored.
 */
export function truncateAtStop(text: string, stops: readonly string[]): string {
  let end = text.length;
  for (const stop of stops) {
    if (stop.length === 0) continue;
    const at = text.indexOf(stop);
    if (at !== -1 && at < end) end = at;
  }
  return text.slice(0, end);
}
