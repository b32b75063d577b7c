// The run's results.json: everything the report is drawn from (the report reads nothing else).
import type { ExperimentConfig } from './config.js';
import type { EvalPhaseSeconds } from './evaluation.js';
import type { Condition, Unit } from './plan.js';

export const RESULTS_FORMAT = 'loralab.experiment-results';
export const RESULTS_VERSION = 2;

/**
 * Metrics of one evaluation (absent when not measured at that point; generation-based ones at the final point):
 * - `source_loss`, `source_bpb`, `source_ppl`: held-out source-domain token loss (nats), bits per byte, perplexity;
 * - `source_mc_acc`, `source_mc_acc_norm`: multiple choice on held-out source text, averaged over `eval.choiceTasks`
 *   (each task's accuracy as `source_mc_<task>_acc`);
 * - `source_copy_gain`, `random_copy_gain`: in-context copying, the loss (nats) of a 48-token span minus that of its
 *   verbatim repeat, on held-out source text and on random token ids (about 0 for a model that cannot copy; see
 *   copy-diagnostic.ts);
 * - `target_loss`: mean next-token loss (nats) of the held-out answers (math) or solutions (code) given the prompt,
 *   prompted as the condition's training data was (chat for IFT, plain text for CPT);
 * - `val_loss`: the same on the validation items (the learning-rate choice; never reported as a test score);
 * - `target_score`: math GSM8K-style strict exact match (greedy) or code pass@1 (N samples, sandboxed tests);
 * - `diversity`: share of unique whole samples among N per prompt at the configured temperature (the paper's
 *   metric; code: programs with comments and whitespace normalised); `answer_diversity` (math): distinct final
 *   answers, as context.
 */
export type Metrics = Record<string, number>;

/**
 * Per-item values, for paired noise estimates between runs: the same items in the same order in every run
 * (`target_loss`, `target_score`, `source_bpb` per document, `source_mc_acc` 0/1, `diversity` per prompt).
 */
export type ItemValues = Record<string, number[]>;

/** One evaluation point along an arm's training (step 0 is the base model). */
export interface EvalPoint {
  step: number;
  tokens: number;
  metrics: Metrics;
  /** Per-item `target_loss` and `source_bpb` at this point (the frontier's item noise). */
  items?: ItemValues;
}

/** One logged training step. */
export interface CurvePoint {
  step: number;
  loss: number;
  lr: number;
}

/** Rank analysis of one ΔW matrix. */
export interface RankMatrix {
  /** Base checkpoint key, e.g. `model.layers.1.mlp.up_proj.weight`. */
  name: string;
  layer: number;
  module: string;
  rows: number;
  cols: number;
  /** rank@τ of ΔW (energy: smallest r whose top singular values hold τ of Σσ²). */
  rank: number;
  /** rank@τ of a Gaussian matrix of ΔW's shape and norm (the "as high as it gets" reference). */
  gaussian_rank: number | null;
  effective_rank: number;
  /** ‖ΔW‖_F / ‖W‖_F. */
  relative_update_norm: number;
  /** Singular values of ΔW, descending, divided by the largest (at most 64 kept). */
  spectrum: number[];
}

export interface RankResult {
  tau: number;
  matrices: RankMatrix[];
  /** Mean rank@τ over all matrices, over attention (q,k,v,o) and over MLP (gate,up,down). */
  mean: number;
  meanAttention: number;
  meanMlp: number;
}

/** One finished unit (`units/<id>/result.json`). */
export interface UnitResult {
  unit: Unit;
  /** The tensor backend it ran on (a merge refuses units of different backends). */
  backend: string;
  trainableParams: number;
  steps: number;
  tokens: number;
  /** Seconds of training with its evaluations, of those evaluations alone, and of the rank analysis. */
  wallSeconds: number;
  evalSeconds: number;
  /** `evalSeconds` by kind of work (absent from results written before it existed). */
  evalPhases?: EvalPhaseSeconds;
  rankSeconds: number;
  curve: CurvePoint[];
  /** Evaluation points in step order, the base (step 0) first, the final point last. */
  evals: EvalPoint[];
  /** Per-item values at the final point. */
  items: ItemValues;
  rank: RankResult | null;
  /** How generated programs were isolated (eval's describeIsolation) where the unit ran code; else null. */
  sandbox: string | null;
}

export interface BaseResult {
  /** `shipped` (the package's checkpoint), `pretrained` (this run) or `folder` (config `baseModel`). */
  origin: 'shipped' | 'pretrained' | 'folder';
  dir: string;
  params: number;
  modelConfig: Record<string, unknown>;
  /** Pretraining curve (empty for shipped or folder bases). */
  curve: CurvePoint[];
  /** Source-domain metrics (step 0 of every unit). */
  metrics: Metrics;
  items: ItemValues;
  /** Target metrics of the base per condition (step 0 of that condition's units). */
  conditions: Partial<Record<Condition, { metrics: Metrics; items: ItemValues }>>;
}

export interface ExperimentResults {
  format: typeof RESULTS_FORMAT;
  version: typeof RESULTS_VERSION;
  config: ExperimentConfig;
  environment: {
    backend: string;
    node: string;
    platform: string;
    cpus: number;
    packages: Record<string, string>;
    /** The sandbox isolation of every unit that ran generated code (distinct values); empty when none did. */
    sandbox: string[];
  };
  /** ISO times. */
  startedAt: string;
  finishedAt: string;
  /** Seconds per phase (`tokenizer`, `datasets`, `base`, `unit:<id>` training with its evaluations, `eval:<id>` those
   * evaluations alone, `rank:<id>`), of the processes that did the work. */
  timings: Record<string, number>;
  base: BaseResult;
  /** Every unit of the plan, in plan order. */
  units: UnitResult[];
}

/** What runExperiment returns. */
export interface ExperimentResult {
  outputDir: string;
  /** `<outputDir>/results.json`. */
  resultsFile: string;
  /** The report files written at the end. */
  report: { html: string; md: string; json: string };
  results: ExperimentResults;
  /** Wall time of this invocation (a resumed run counts only what it did). */
  wallSeconds: number;
  /** Phases skipped because a completion marker showed them finished. */
  skipped: string[];
}
