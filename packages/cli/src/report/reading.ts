// "How to read this": the limits of this run's scale, written from its numbers (which learning rates won, how the
// ranks compare with the width, which scores sit at chance, how many seeds the noise band rests on).

import { COPY_SPAN_TOKENS } from '../experiment/copy-diagnostic.js';
import type { ExperimentResults } from '../experiment/results.js';
import type { ArmSummary } from './analysis.js';
import { num } from './tables.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Plain sentences, one per point. */
export function readingNotes(results: ExperimentResults, arms: readonly ArmSummary[]): string[] {
  const notes: string[] = [];
  const mc = results.base.modelConfig as { hidden_size: number; num_hidden_layers: number };
  const c = results.config;
  notes.push(
    `Scale: a ${results.base.params.toLocaleString('en-US')}-parameter base (width ${mc.hidden_size}, ${mc.num_hidden_layers} layers) finetuned for ${c.finetune.iftSteps} IFT / ${c.finetune.cptSteps} CPT steps of ${c.finetune.microBatchSize} × ${c.finetune.seqLen} tokens; the paper used a 7B model and up to 20B tokens. Effects here are small and the noise bands matter.`,
  );
  const ranks = [...new Set(arms.filter((a) => a.arm.r).map((a) => a.arm.r!))].sort((a, b) => a - b);
  if (ranks.length) {
    const top = ranks[ranks.length - 1]! / mc.hidden_size;
    notes.push(
      `LoRA ranks ${ranks.join(', ')} against a width of ${mc.hidden_size} (r/d = ${ranks.map((r) => num(r / mc.hidden_size, 2)).join(', ')}); the paper's r = 16-256 at d = 4096 is r/d ≤ 0.0625, so ${top > 0.0625 ? 'the ranks here are larger relative to the width than the paper\'s: LoRA is less constrained, which works against "learns less" and "forgets less"' : "the ranks here are as small relative to the width as the paper's"}.`,
    );
  }
  const lrNotes: string[] = [];
  for (const a of arms) {
    if (a.sweep.length < 2) continue;
    const lrs = a.sweep.map((p) => p.lr).sort((x, y) => x - y);
    const edge =
      a.lr === lrs[0]
        ? ' (the lowest of the sweep: the best may lie below it)'
        : a.lr === lrs[lrs.length - 1]
          ? ' (the highest of the sweep: the best may lie above it)'
          : '';
    lrNotes.push(`${a.arm.name} ${a.lr}${edge}`);
  }
  if (lrNotes.length) {
    notes.push(
      `Learning rates chosen on validation target loss (the rule, fixed in advance: the lowest mean final validation loss over seeds, on ${c.eval.validationItems} held-out items per domain kept apart from the test items; loss because every arm has it and it still ranks learning rates where exact match or pass@1 sit at 0; sampling every rate would cost the generation budget of the sweep): ${lrNotes.join('; ')}.`,
    );
    const ratios: string[] = [];
    for (const cond of new Set(arms.map((a) => a.condition))) {
      const full = arms.find((a) => a.condition === cond && a.arm.method === 'full' && a.sweep.length > 1);
      const lora = arms.find((a) => a.condition === cond && a.arm.method === 'lora' && a.sweep.length > 1);
      if (full && lora) ratios.push(`${cond} ${num(lora.lr / full.lr, 2)}×`);
    }
    if (ratios.length)
      notes.push(`Best LoRA lr / best full lr: ${ratios.join(', ')} (the paper: about 10×).`);
  }
  const chance = 1 / c.eval.choices;
  const mcAcc = results.base.metrics.source_mc_acc;
  if (mcAcc !== undefined) {
    // Results of runs before the averaged tasks hold one task (the continuation choice).
    const tasks = c.eval.choiceTasks ?? ['continuation'];
    const n = results.base.items?.source_mc_acc?.length ?? c.eval.choiceItems * tasks.length;
    const perTask = tasks
      .map((t) => results.base.metrics[`source_mc_${t}_acc`])
      .map((v, i) => (v === undefined ? null : `${tasks[i]!.replace('_', ' ')} ${pct(v)}`))
      .filter((x) => x !== null);
    const nearChance = Math.abs(mcAcc - chance) < 2 * Math.sqrt((chance * (1 - chance)) / Math.max(1, n));
    notes.push(
      `Source multiple choice (${tasks.length > 1 ? `the average of ${tasks.length} tasks` : 'one task'}, ${n} items${perTask.length > 1 ? `: ${perTask.join(', ')}` : ''}): the base scores ${pct(mcAcc)} against ${pct(chance)} chance; ${nearChance ? 'within 2 SE of chance, so it cannot show forgetting: source bits per byte is the forgetting metric' : 'above chance, so a drop in it is forgetting, beside source bits per byte'}.`,
    );
  }
  const copy = results.base.metrics.random_copy_gain;
  if (copy !== undefined) {
    const text = results.base.metrics.source_copy_gain;
    notes.push(
      `In-context copying (the loss of a ${COPY_SPAN_TOKENS}-token span minus that of its verbatim repeat): the base gains ${num(copy, 2)} nats on random token ids${text === undefined ? '' : ` and ${num(text, 2)} on held-out source text`}; ${copy < 0.5 ? 'it does not copy unseen sequences in context, so an answer that restates a number or name from its prompt needs finetuning to teach that copy' : 'it copies in context'}.`,
    );
  }
  // Per domain: math exact match and code pass@1 move at different training lengths.
  const tops: string[] = [];
  let nearZero = true;
  for (const [domain, metric] of [
    ['math', 'exact match'],
    ['code', 'pass@1'],
  ] as const) {
    const scores = [
      ...arms.filter((a) => a.condition.endsWith(`-${domain}`)).map((a) => a.metrics.target_score),
      ...Object.entries(results.base.conditions)
        .filter(([cond]) => cond.endsWith(`-${domain}`))
        .map(([, t]) => t?.metrics.target_score),
    ].filter((x): x is number => x !== undefined);
    if (!scores.length) continue;
    const top = Math.max(...scores);
    nearZero &&= top < 0.05;
    tops.push(`${domain} ${metric} ${pct(top)}${top < 0.05 ? ' (at or near zero)' : ''}`);
  }
  if (tops.length) {
    notes.push(
      `Target scores reach at most: ${tops.join(', ')}; ${nearZero ? 'all at or near zero, so learning is judged on held-out target loss and the scores are context' : 'learning is judged on held-out target loss (every arm has it), the scores are context'}.`,
    );
  }
  const multi = arms.filter((a) => a.seeds.length >= 2);
  notes.push(
    multi.length
      ? `Seeds: ${multi.length} of ${arms.length} arms ran ${Math.max(...multi.map((a) => a.seeds.length))} seeds at their chosen lr; for their comparisons the ± band adds the run-to-run spread across seeds to the item noise (2 × sqrt(item SE² + seed SE²)); comparisons where both sides have one seed carry item noise only and are marked so.`
      : 'Seeds: every arm ran one seed, so every ± band is item noise only: it does not include run-to-run variation.',
  );
  notes.push(
    `Backend: every unit ran on ${results.environment.backend} (a folder never mixes backends; results of different backends differ by float32 rounding).`,
  );
  return notes;
}
