// The experiment as a plan of independent units: every arm × learning rate × seed is one finetuning run with a
// deterministic id and its own folder, so one process can run them in order or a scheduler can run them apart
// (unit k of N) and a merge step can build the one report (Biderman et al. 2024, App. B: an lr sweep per method).
import type { ArmConfig, Domain, ExperimentConfig, Task } from './config.js';

/** One finetuning run: an arm at one peak learning rate and one seed. */
export interface Unit {
  /** Position in the plan (0-based); a job array's task index. */
  index: number;
  /** `<arm>--lr<lr>--s<seed>`: folder-safe, the same for the same config on every machine. */
  id: string;
  arm: ArmConfig;
  /** Peak learning rate of this run. */
  lr: number;
  seed: number;
  /** Optimizer steps. */
  steps: number;
  /** Sequences per step. */
  microBatchSize: number;
  schedule: 'cosine' | 'linear' | 'constant';
  weightDecay: number;
}

/** `ift-math`, `cpt-code`, ...: the paper's condition of an arm. */
export type Condition = `${Task}-${Domain}`;
export const CONDITIONS: readonly Condition[] = ['ift-math', 'ift-code', 'cpt-math', 'cpt-code'];

export function conditionOf(arm: Pick<ArmConfig, 'task' | 'domain'>): Condition {
  return `${arm.task}-${arm.domain}`;
}

/** A learning rate as a short folder-safe string: 0.0003 → `3e-4`, 0.01 → `1e-2`, 0.00015 → `1.5e-4`. */
export function lrLabel(lr: number): string {
  const [m, e] = lr.toExponential().split('e');
  return `${Number(Number(m).toPrecision(6))}e${Number(e)}`;
}

/** The learning rates of an arm: its sweep, its own lr, or the finetune default of its method. */
export function armLrs(config: ExperimentConfig, arm: ArmConfig): number[] {
  if (arm.lrSweep) return [...arm.lrSweep];
  if (arm.lr !== null) return [arm.lr];
  const f = config.finetune;
  // rounded to 12 digits, so 3e-4 × 10 is 0.003 and not 0.0030000000000000005
  return [arm.method === 'lora' ? Number((f.fullLr * f.loraLrMultiplier).toPrecision(12)) : f.fullLr];
}

export function armSeeds(config: ExperimentConfig, arm: ArmConfig): number[] {
  return arm.seeds ? [...arm.seeds] : [config.seed];
}

/** Expands the config into its units, arm by arm in config order, then learning rate, then seed. */
export function planUnits(config: ExperimentConfig): Unit[] {
  const f = config.finetune;
  const units: Unit[] = [];
  for (const arm of config.arms) {
    for (const lr of armLrs(config, arm)) {
      for (const seed of armSeeds(config, arm)) {
        units.push({
          index: units.length,
          id: `${arm.name}--lr${lrLabel(lr)}--s${seed}`,
          arm,
          lr,
          seed,
          steps: arm.steps ?? (arm.task === 'ift' ? f.iftSteps : f.cptSteps),
          microBatchSize: arm.microBatchSize ?? f.microBatchSize,
          schedule: arm.schedule ?? f.schedule,
          weightDecay: arm.weightDecay ?? f.weightDecay,
        });
      }
    }
  }
  return units;
}

/** The units a process of rank `rank` in `worldSize` runs: indices i with i % worldSize === rank. */
export function unitsOfRank(units: readonly Unit[], rank: number, worldSize: number): Unit[] {
  return units.filter((u) => u.index % worldSize === rank);
}

/** The conditions the plan covers, in the canonical order. */
export function planConditions(config: ExperimentConfig): Condition[] {
  const used = new Set(config.arms.map(conditionOf));
  return CONDITIONS.filter((c) => used.has(c));
}
