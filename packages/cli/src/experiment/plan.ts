// The experiment as a plan of independent units, each a finetuning run with a deterministic id and its own folder,
// so one process can run them in order or a scheduler can run them apart (unit k of N) and a merge step can build the
// one report. A swept arm runs as the paper's App. B does: the learning-rate sweep first (one run per lr, the arm's
// first seed, scored by validation loss), then the arm at its chosen lr for every seed with the full evaluation
// (generation, multiple choice, code execution), the first seed's run reused rather than trained again.
import type { ArmConfig, Domain, ExperimentConfig, Task } from './config.js';

/**
 * `sweep`: one learning rate of a swept arm (its first seed; cheap evaluation and validation loss).
 * `chosen`: the arm at its learning rate with the full evaluation: a swept arm's lr is chosen when the unit runs,
 * from its sweep's results (`lr` null in the plan).
 */
export type UnitStage = 'sweep' | 'chosen';

/** One finetuning run: an arm at one peak learning rate and one seed. */
export interface Unit {
  /** Position in the plan (0-based); a job array's task index. */
  index: number;
  /** `<arm>--lr<lr>--s<seed>`, or `<arm>--best--s<seed>` at a swept arm's chosen lr: folder-safe, the same for the
   * same config on every machine. */
  id: string;
  arm: ArmConfig;
  stage: UnitStage;
  /** Peak learning rate of this run; null in the plan when it is the arm's lr chosen from its sweep (the unit's
   * result records the lr it ran at). */
  lr: number | null;
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

/**
 * Expands the config into its units: the sweep units (each swept arm's lrs at its first seed) and the units of
 * unswept arms first, arm by arm in config order, then the chosen-lr units of the swept arms (every seed). A process
 * of a job array thus runs its sweep units before any unit that waits for a sweep.
 */
export function planUnits(config: ExperimentConfig): Unit[] {
  const f = config.finetune;
  const units: Unit[] = [];
  const later: Omit<Unit, 'index'>[] = [];
  for (const arm of config.arms) {
    const settings = {
      arm,
      steps: arm.steps ?? (arm.task === 'ift' ? f.iftSteps : f.cptSteps),
      microBatchSize: arm.microBatchSize ?? f.microBatchSize,
      schedule: arm.schedule ?? f.schedule,
      weightDecay: arm.weightDecay ?? f.weightDecay,
    };
    const lrs = armLrs(config, arm);
    const seeds = armSeeds(config, arm);
    const add = (u: Omit<Unit, 'index'>) => units.push({ index: units.length, ...u });
    if (lrs.length === 1) {
      for (const seed of seeds)
        add({
          id: `${arm.name}--lr${lrLabel(lrs[0]!)}--s${seed}`,
          stage: 'chosen',
          lr: lrs[0]!,
          seed,
          ...settings,
        });
      continue;
    }
    for (const lr of lrs)
      add({
        id: `${arm.name}--lr${lrLabel(lr)}--s${seeds[0]}`,
        stage: 'sweep',
        lr,
        seed: seeds[0]!,
        ...settings,
      });
    for (const seed of seeds)
      later.push({ id: `${arm.name}--best--s${seed}`, stage: 'chosen', lr: null, seed, ...settings });
  }
  for (const u of later) units.push({ index: units.length, ...u });
  return units;
}

/** The sweep units of a chosen-lr unit's arm (empty for an unswept arm's unit). */
export function sweepOf(units: readonly Unit[], unit: Unit): Unit[] {
  return units.filter((u) => u.stage === 'sweep' && u.arm.name === unit.arm.name);
}

/**
 * The learning-rate choice (App. B), fixed in advance: the lowest validation loss; a diverged (non-finite) lr never
 * wins; ties keep the sweep order. Returns the index of the chosen point.
 */
export function chooseLr(valLosses: readonly number[]): number {
  let best = 0;
  for (const [i, v] of valLosses.entries()) {
    const b = valLosses[best]!;
    if (Number.isFinite(v) && (!Number.isFinite(b) || v < b)) best = i;
  }
  return best;
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
