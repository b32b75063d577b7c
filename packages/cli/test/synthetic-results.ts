// Synthetic results.json content for the verdict and report tests: arms with chosen final metrics and
// per-item values (a common offset plus deterministic item noise), so each finding can be made to hold or fail.

import { arm as armOf, DEFAULT_EXPERIMENT } from '../src/experiment/config.js';
import type { ExperimentResults, RankMatrix, UnitResult } from '../src/experiment/results.js';

/** Deterministic per-item wiggle in [-1, 1]. */
function wiggle(i: number, salt: number): number {
  return Math.sin(i * 12.9898 + salt * 78.233) % 1;
}

/** n items with mean `value` and item noise of size `spread` (paired items share most of it, as real items do). */
export function items(value: number, n: number, spread: number, salt: number): number[] {
  const shared = Array.from({ length: n }, (_, i) => 3 * spread * wiggle(i, 1));
  const xs = shared.map((s, i) => value + s + spread * wiggle(i, salt));
  const m = xs.reduce((a, b) => a + b, 0) / n;
  return xs.map((x) => x - m + value);
}

export interface SyntheticArm {
  name: string;
  method: 'full' | 'lora';
  task?: 'ift' | 'cpt';
  domain?: 'math' | 'code';
  r?: number;
  weightDecay?: number;
  dropout?: number;
  targetLoss: number;
  sourceBpb: number;
  diversity: number;
  rank: number;
  /** Seeds at the chosen lr (default 1); seed s shifts every final metric by `seedSpread` × (s − mean). */
  seeds?: number;
  seedSpread?: number;
  /** Extra learning rates swept (each with a worse validation loss than the chosen one, and worse metrics). */
  sweep?: number[];
}

function rankMatrices(mean: number): RankMatrix[] {
  const out: RankMatrix[] = [];
  for (let layer = 0; layer < 2; layer++) {
    for (const [j, module] of [
      'q_proj',
      'k_proj',
      'v_proj',
      'o_proj',
      'gate_proj',
      'up_proj',
      'down_proj',
    ].entries()) {
      out.push({
        name: `model.layers.${layer}.${j < 4 ? 'self_attn' : 'mlp'}.${module}.weight`,
        layer,
        module,
        rows: 96,
        cols: 96,
        rank: Math.max(1, Math.round(mean + (j % 3) - 1)),
        gaussian_rank: 70,
        effective_rank: mean * 1.5,
        relative_update_norm: 0.1,
        spectrum: Array.from({ length: 16 }, (_, i) => 1 / (1 + i)),
      });
    }
  }
  return out;
}

export function syntheticResults(arms: SyntheticArm[], spread = 0.02): ExperimentResults {
  const n = 100;
  const baseSource = { source_bpb: 2, source_mc_acc: 0.5 };
  const baseTarget = { target_loss: 3, target_score: 0, diversity: 0.5, val_loss: 3 };
  const units: UnitResult[] = [];
  for (const [k, a] of arms.entries()) {
    const task = a.task ?? 'ift';
    const arm = armOf({
      name: a.name,
      task,
      domain: a.domain ?? (task === 'ift' ? 'math' : 'code'),
      method: a.method,
      r: a.r ?? null,
      weightDecay: a.weightDecay ?? null,
      dropout: a.dropout ?? 0,
    });
    const chosen = a.method === 'lora' ? 1e-2 : 1e-3;
    const lrs = [chosen, ...(a.sweep ?? [])];
    const seeds = a.seeds ?? 1;
    for (const [j, lr] of lrs.entries()) {
      for (let seed = 0; seed < seeds; seed++) {
        // lr j > 0: 0.2 nats worse on validation and test; seed offsets average to 0 over the seeds.
        const shift = (a.seedSpread ?? 0) * (seed - (seeds - 1) / 2) + 0.2 * j;
        const targetLoss = a.targetLoss + shift;
        const sourceBpb = a.sourceBpb + shift / 10;
        const finalMetrics = {
          target_loss: targetLoss,
          val_loss: targetLoss,
          target_score: 0.1,
          source_bpb: sourceBpb,
          source_mc_acc: 0.5,
          diversity: a.diversity,
        };
        const ms = rankMatrices(a.rank);
        const salt = 100 * k + 10 * j + seed;
        const point = (step: number, t: number, frac: number) => ({
          step,
          tokens: step * 1000,
          metrics: { target_loss: 3 + frac * (t - 3), source_bpb: 2 + frac * (sourceBpb - 2) },
          items: {
            target_loss: items(3 + frac * (t - 3), n, spread, salt + 2),
            source_bpb: items(2 + frac * (sourceBpb - 2), n, spread, salt + 20),
          },
        });
        const unit = {
          index: units.length,
          id: `${a.name}--lr${lr}--s${seed}`,
          arm,
          stage: 'chosen' as const,
          lr,
          seed,
          steps: 80,
          microBatchSize: 8,
          schedule: 'cosine' as const,
          weightDecay: a.weightDecay ?? 0,
        };
        units.push({
          unit,
          backend: 'wasm',
          sandbox: null,
          trainableParams: a.method === 'lora' ? 1000 * (a.r ?? 1) : 700_000,
          steps: 80,
          tokens: 80_000,
          wallSeconds: 30,
          evalSeconds: 10,
          rankSeconds: 1,
          curve: Array.from({ length: 10 }, (_, i) => ({
            step: 8 * (i + 1),
            loss: 3 - i * 0.1 - k * 0.01,
            lr,
          })),
          evals: [
            {
              step: 0,
              tokens: 0,
              metrics: { ...baseSource, ...baseTarget },
              items: { target_loss: items(3, n, spread, 1), source_bpb: items(2, n, spread, 3) },
            },
            point(40, targetLoss, 0.5),
            {
              ...point(80, targetLoss, 1),
              metrics: finalMetrics,
            },
          ],
          items: {
            target_loss: items(targetLoss, n, spread, salt + 2),
            source_bpb: items(sourceBpb, n, spread, salt + 20),
            diversity: items(a.diversity, 10, spread, salt + 40),
          },
          rank: {
            tau: 0.9,
            matrices: ms,
            mean: ms.reduce((s, m) => s + m.rank, 0) / ms.length,
            meanAttention: a.rank,
            meanMlp: a.rank,
          },
        });
      }
    }
  }
  const conditions = [...new Set(units.map((u) => `${u.unit.arm.task}-${u.unit.arm.domain}` as const))];
  return {
    format: 'loralab.experiment-results',
    version: 2,
    config: DEFAULT_EXPERIMENT,
    environment: { backend: 'wasm', node: 'v20', platform: 'linux-x64', cpus: 2, packages: {}, sandbox: [] },
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:10:00.000Z',
    timings: { base: 10 },
    base: {
      origin: 'shipped',
      dir: '/run/base',
      params: 700_000,
      modelConfig: { hidden_size: 96, num_hidden_layers: 3, num_attention_heads: 3, vocab_size: 2048 },
      curve: [],
      metrics: baseSource,
      items: { source_bpb: items(2, n, spread, 3) },
      conditions: Object.fromEntries(
        conditions.map((c) => [c, { metrics: baseTarget, items: { target_loss: items(3, n, spread, 1) } }]),
      ),
    },
    units,
  };
}

/** The paper's picture: LoRA learns less, forgets less, lower-rank ΔW, more diverse. */
export const PAPER_LIKE: SyntheticArm[] = [
  { name: 'ift-full', method: 'full', targetLoss: 1.0, sourceBpb: 2.6, diversity: 0.3, rank: 40 },
  { name: 'ift-lora-r4', method: 'lora', r: 4, targetLoss: 1.5, sourceBpb: 2.1, diversity: 0.6, rank: 3 },
  { name: 'ift-lora-r16', method: 'lora', r: 16, targetLoss: 1.3, sourceBpb: 2.2, diversity: 0.5, rank: 10 },
  {
    name: 'ift-full-wd',
    method: 'full',
    weightDecay: 0.1,
    targetLoss: 1.0,
    sourceBpb: 2.55,
    diversity: 0.3,
    rank: 40,
  },
];
