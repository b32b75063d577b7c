// Learning-rate schedules as multipliers of the peak lr, following Hugging Face `transformers.optimization`
// (get_cosine_with_min_lr_schedule_with_warmup, get_linear_schedule_with_warmup, get_constant_schedule_with_warmup,
// get_inverse_sqrt_schedule), plus an optional final linear cooldown for `constant` and `inverse-sqrt`
// (warmup-stable-decay, Hägele et al. 2024). Step s is 0-based: optimizer update s + 1 uses factor(s).
import type { ScheduleConfig } from './config.js';

/** The schedule with its step counts fixed for a run of `totalSteps` updates. */
export interface ResolvedSchedule {
  name: ScheduleConfig['name'];
  totalSteps: number;
  /** Warmup steps W. */
  warmup: number;
  /** Cooldown steps C (constant / inverse-sqrt). */
  cooldown: number;
  /** Floor as a fraction of the peak. */
  floor: number;
  /** inverse-sqrt timescale τ. */
  timescale: number;
}

/** Fixes warmup and cooldown in steps: a ratio r of N total steps is ⌈r·N⌉ steps (as Hugging Face's warmup_ratio). */
export function resolveSchedule(s: Required<ScheduleConfig>, totalSteps: number): ResolvedSchedule {
  const warmup = s.warmupSteps > 0 ? s.warmupSteps : Math.ceil(s.warmupRatio * totalSteps);
  const cooldown = s.cooldownSteps > 0 ? s.cooldownSteps : Math.ceil(s.cooldownRatio * totalSteps);
  return {
    name: s.name,
    totalSteps,
    warmup,
    cooldown: Math.min(cooldown, totalSteps),
    floor: s.minLrRatio,
    timescale: s.timescale ?? (warmup > 0 ? warmup : 10_000),
  };
}

/** The factor without cooldown at step s ≥ W. */
function decayed(r: ResolvedSchedule, s: number): number {
  const { totalSteps: N, warmup: W, floor } = r;
  switch (r.name) {
    case 'cosine': {
      // progress p = (s − W) / (N − W); f = floor + (1 − floor) · ½(1 + cos πp)
      const p = (s - W) / Math.max(1, N - W);
      return floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, p)));
    }
    case 'linear':
      // f = floor + (1 − floor) · (N − s) / (N − W), clamped at the floor
      return floor + (1 - floor) * Math.max(0, (N - s) / Math.max(1, N - W));
    case 'constant':
      return 1;
    case 'inverse-sqrt':
      // f = 1 / √((s + τ − W) / τ): 1 at s = W, then ∝ 1/√s
      return 1 / Math.sqrt((s + r.timescale - W) / r.timescale);
    default:
      throw new Error(`unknown schedule '${String(r.name)}'`);
  }
}

/** lr multiplier of step s (0-based). Warmup: s / W (0 at the first step, as Hugging Face). */
export function scheduleFactor(r: ResolvedSchedule, s: number): number {
  if (s < r.warmup) return s / Math.max(1, r.warmup);
  const start = r.totalSteps - r.cooldown; // first cooldown step s₀
  if (r.cooldown > 0 && s >= start && (r.name === 'constant' || r.name === 'inverse-sqrt')) {
    // Linear from f(s₀) at s₀ to the floor at s = N: f = floor + (f(s₀) − floor) · (N − s) / C
    const top = decayed(r, Math.max(start, r.warmup));
    return r.floor + (top - r.floor) * Math.max(0, (r.totalSteps - s) / r.cooldown);
  }
  return decayed(r, s);
}
