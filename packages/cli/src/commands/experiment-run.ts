// `loralab experiment run` and `loralab report`: the learn-vs-forget experiment (Biderman et al. 2024) at this
// machine's scale, wired to the experiment recipes (src/experiment) and the report (src/report).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDuration } from '../progress.js';
import { BACKEND_OPTION, type CommandContext, type CommandSpec, stringFlag } from './command.js';

/** The head of report.md's `## Verdict` section (up to the per-finding details), or '' without one. */
export function verdictSection(markdown: string): string {
  const start = markdown.indexOf('## Verdict');
  if (start < 0) return '';
  const ends = ['\n## ', '\n### '].map((h) => markdown.indexOf(h, start + 1)).filter((i) => i >= 0);
  return markdown.slice(start, ends.length ? Math.min(...ends) : undefined).trim();
}

export function printReport(ctx: CommandContext, files: { html: string; md: string; json: string }): void {
  const verdict = existsSync(files.md) ? verdictSection(readFileSync(files.md, 'utf8')) : '';
  if (verdict) ctx.out(`${verdict}\n`);
  ctx.out(`report: ${files.html}\n        ${files.md}\n        ${files.json}`);
}

export const experimentRun: CommandSpec = {
  path: ['experiment', 'run'],
  summary: 'run (or resume) the learn-vs-forget experiment end to end and write its report',
  usage: '[options] [CONFIG]',
  description: `Trains a tokenizer and a small Llama base on general English (the source domain), finetunes it on math
word problems (IFT) and code (CPT) with full finetuning, full finetuning with weight decay and with dropout, and LoRA
at several ranks; evaluates learning (GSM8K-style exact match, HumanEval-style pass@k) and forgetting (held-out
perplexity, bits per byte, multiple choice) along the way; analyses the rank of every ΔW; and writes report.html,
report.md and results.json, whose verdict is computed from the numbers. CONFIG (JSON or YAML, also -c) holds only
the keys to change from the preset (default, or --quick for a smoke test in under 3 minutes); unknown keys are
refused with their path. Rerunning into the same --output skips finished phases; Ctrl-C stops at a consistent point.`,
  options: {
    quick: {
      type: 'boolean',
      description: 'the smoke-test preset (minutes; its numbers carry little signal)',
    },
    output: {
      type: 'string',
      short: 'o',
      value: 'DIR',
      description: 'run folder (default runs/default or runs/quick)',
    },
    seed: { type: 'string', value: 'N', description: 'seed of everything (default 0)' },
    backend: BACKEND_OPTION,
  },
  config: true,
  graceful: true,
  positionals: { min: 0, max: 1 },
  examples: [
    'loralab experiment run',
    'loralab experiment run --quick --output /tmp/smoke',
    'loralab experiment run my-experiment.yaml --set seed=1 --output runs/seed1',
  ],
  async run(ctx) {
    const { experimentConfigOf } = await import('./experiment-jobs.js');
    const { config, quick, file } = await experimentConfigOf(ctx);
    const { runExperiment } = await import('../experiment/index.js');
    const outputDir = stringFlag(ctx, 'output') ?? join('runs', quick ? 'quick' : 'default');
    ctx.reporter.log(
      `experiment (${quick ? 'quick' : 'default'} preset${file ? ` + ${file}` : ''}) -> ${outputDir}`,
    );
    const result = await runExperiment(config, { outputDir, reporter: ctx.reporter, signal: ctx.signal });
    if (ctx.signal.aborted) return 0; // main reports the interruption
    ctx.reporter.log(ctx.reporter.summary('experiment'));
    if (result.skipped.length) ctx.reporter.log(`already finished, skipped: ${result.skipped.join(', ')}`);
    printReport(ctx, result.report);
    ctx.out(`wall time ${formatDuration(result.wallSeconds)}`);
    return 0;
  },
};

export const report: CommandSpec = {
  path: ['report'],
  summary: "(re)write an experiment's report.html and report.md from its results.json",
  usage: '[options] RUN_DIR',
  description: `Reads RUN_DIR/results.json (written by 'loralab experiment run') and writes report.html (self-contained,
opens offline: the learning-vs-forgetting plot, training curves, rank@90 by layer and module, spectra) and report.md
next to it, then prints the verdict.`,
  options: {},
  positionals: { min: 1, max: 1 },
  examples: ['loralab report runs/default', 'open runs/default/report.html'],
  async run(ctx) {
    const runDir = ctx.positionals[0]!;
    if (!existsSync(join(runDir, 'results.json'))) {
      const { DataError } = await import('@loralab/data');
      throw new DataError(
        "no results.json: not an experiment run folder (run 'loralab experiment run' first)",
        {
          file: runDir,
        },
      );
    }
    const { writeReport } = await import('../report/index.js');
    printReport(ctx, await writeReport(runDir));
    return 0;
  },
};
