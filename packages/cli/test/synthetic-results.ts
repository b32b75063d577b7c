// Synthetic results.json content for the verdict and report tests: arms with chosen final metrics and
// per-item values (a common offset plus deterministic item noise), so each finding can be made to hold or fail.

import type { ArmConfig } from '../src/experiment/config.js';
import { DEFAULT_EXPERIMENT } from '../src/experiment/config.js';
import type { ArmResult, ExperimentResults, RankMatrix } from '../src/experiment/results.js';

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
  r?: number;
  weightDecay?: number;
  dropout?: number;
  targetLoss: number;
  sourceBpb: number;
  diversity: number;
  rank: number;
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
  const base = { math_loss: 3, code_loss: 2, source_bpb: 2, source_mc_acc: 0.5, math_diversity: 0.5 };
  const armResults: ArmResult[] = arms.map((a, k): ArmResult => {
    const task = a.task ?? 'ift';
    const arm: ArmConfig = {
      name: a.name,
      task,
      method: a.method,
      r: a.r ?? null,
      alpha: a.r ? 2 * a.r : null,
      weightDecay: a.weightDecay ?? null,
      dropout: a.dropout ?? 0,
    };
    const lossKey = task === 'ift' ? 'math_loss' : 'code_loss';
    const divKey = task === 'ift' ? 'math_diversity' : 'code_diversity';
    const finalMetrics = {
      [lossKey]: a.targetLoss,
      source_bpb: a.sourceBpb,
      source_mc_acc: 0.5,
      [divKey]: a.diversity,
    };
    const ms = rankMatrices(a.rank);
    return {
      arm,
      lr: a.method === 'lora' ? 1e-2 : 1e-3,
      weightDecay: a.weightDecay ?? 0,
      trainableParams: a.method === 'lora' ? 1000 * (a.r ?? 1) : 700_000,
      steps: 80,
      tokens: 80_000,
      wallSeconds: 30,
      curve: Array.from({ length: 10 }, (_, i) => ({
        step: 8 * (i + 1),
        loss: 3 - i * 0.1 - k * 0.01,
        lr: 1e-3,
      })),
      evals: [
        { step: 0, tokens: 0, metrics: base },
        {
          step: 40,
          tokens: 40_000,
          metrics: { [lossKey]: (a.targetLoss + 3) / 2, source_bpb: (a.sourceBpb + 2) / 2 },
        },
        { step: 80, tokens: 80_000, metrics: finalMetrics },
      ],
      items: {
        [lossKey]: items(a.targetLoss, n, spread, k + 2),
        source_bpb: items(a.sourceBpb, n, spread, k + 20),
        [divKey]: items(a.diversity, 10, spread, k + 40),
      },
      rank: {
        tau: 0.9,
        matrices: ms,
        mean: ms.reduce((s, m) => s + m.rank, 0) / ms.length,
        meanAttention: a.rank,
        meanMlp: a.rank,
      },
    };
  });
  return {
    format: 'loralab.experiment-results',
    version: 1,
    config: DEFAULT_EXPERIMENT,
    environment: { backend: 'wasm', node: 'v20', platform: 'linux-x64', cpus: 2, packages: {} },
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:10:00.000Z',
    timings: { base: 10 },
    base: {
      origin: 'shipped',
      dir: '/run/base',
      params: 700_000,
      modelConfig: { hidden_size: 96, num_hidden_layers: 3, num_attention_heads: 3, vocab_size: 2048 },
      curve: [],
      metrics: base,
      items: {},
    },
    arms: armResults,
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
