// The learn-vs-forget experiment end to end (Biderman et al. 2024): tokenizer, base, finetuning arms with
// evaluation along the way, rank analysis of every ΔW, results.json and the report. Each phase leaves a completion
// marker, so rerunning the same output folder skips what is finished.

import { mkdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { writeJsonAtomic } from '@loralab/data';
import { type BackendName, initBackend, loadPretrained } from '@loralab/model';
import { Tokenizer } from '@loralab/tokenizer';
import { writeReport } from '../report/write-report.js';
import { baseFingerprint, copyBase, pretrainBase, shippedBaseFor } from './base-model.js';
import type { ExperimentConfig } from './config.js';
import { ExperimentError } from './errors.js';
import { buildEvalSets, evaluateModel } from './evaluation.js';
import { finetuneArm } from './finetune-arm.js';
import { configHash, runPhase } from './phase-marker.js';
import {
  chatTemplateFor,
  readHeldOut,
  type TrainingSets,
  type TrainText,
  trainTokenizer,
  writeTrainingSets,
  writeTrainText,
} from './prepare-data.js';
import { analyseUpdate } from './rank-analysis.js';
import { type Reporter, silentReporter } from './reporter.js';
import {
  type ArmResult,
  type BaseResult,
  type EvalPoint,
  type ExperimentResult,
  type ExperimentResults,
  RESULTS_FORMAT,
  RESULTS_VERSION,
} from './results.js';

export interface RunExperimentOptions {
  /** The run folder; rerunning with the same folder resumes (finished phases are skipped). */
  outputDir: string;
  reporter?: Reporter;
  signal?: AbortSignal;
}

function packageVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['cli', 'train', 'model', 'lora', 'data', 'tokenizer', 'eval', 'rank']) {
    try {
      const url = new URL(`../../../${name}/package.json`, import.meta.url);
      out[`@loralab/${name}`] = (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
    } catch {
      // an installed (not workspace) layout: versions are in the lockfile
    }
  }
  return out;
}

/** Where the base comes from and the folder every later phase loads it from. */
function planBase(config: ExperimentConfig, runDir: string, reporter: Reporter) {
  if (config.baseModel !== null)
    return { origin: 'folder' as const, dir: config.baseModel, from: config.baseModel };
  const baseDir = join(runDir, 'base');
  if (config.shippedBase) {
    const shipped = shippedBaseFor(config);
    if ('dir' in shipped) return { origin: 'shipped' as const, dir: baseDir, from: shipped.dir };
    reporter.log(`not using the shipped base: ${shipped.reason}; pretraining one`);
  }
  return { origin: 'pretrained' as const, dir: baseDir, from: null };
}

/** Runs (or resumes) the experiment of `config` in `options.outputDir` and writes its report. */
export async function runExperiment(
  config: ExperimentConfig,
  options: RunExperimentOptions,
): Promise<ExperimentResult> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const runDir = options.outputDir;
  const reporter = options.reporter ?? silentReporter;
  const signal = options.signal;
  const checkAbort = () => {
    if (signal?.aborted)
      throw new ExperimentError('experiment', 'aborted; rerun with the same output folder to resume');
  };
  mkdirSync(runDir, { recursive: true });
  writeJsonAtomic(join(runDir, 'config.json'), config);
  const backend = await initBackend(config.backend === 'auto' ? undefined : (config.backend as BackendName));
  reporter.log(`backend ${backend.name}; run folder ${runDir}`);
  const skipped: string[] = [];
  const timings: Record<string, number> = {};
  const note = (phase: string, r: { skipped: boolean; seconds: number }) => {
    timings[phase] = r.seconds;
    if (r.skipped) skipped.push(phase);
  };

  // 1. Data and tokenizer.
  const evalSets = buildEvalSets(config, await readHeldOut(config));
  const base = planBase(config, runDir, reporter);
  // The training text is streamed to files once, only when a phase that needs it runs.
  let trainText: Promise<TrainText> | null = null;
  const text = () => {
    trainText ??= writeTrainText(config, join(runDir, 'data', 'raw'), base.origin === 'pretrained');
    return trainText;
  };
  const tokDir = base.origin === 'pretrained' ? join(runDir, 'tokenizer') : base.from!;
  const tokPhase = await runPhase(
    runDir,
    'tokenizer',
    configHash({ origin: base.origin, recipe: baseFingerprint(config), tokDir }),
    async () => {
      if (base.origin === 'pretrained') {
        reporter.log(`tokenizer: training a ${config.tokenizer.vocabSize}-token byte-level BPE`);
        await trainTokenizer(config, await text(), tokDir);
      }
      return { dir: tokDir };
    },
  );
  note('tokenizer', tokPhase);
  const tokenizer = await Tokenizer.fromPretrained(tokPhase.value.dir);
  checkAbort();
  const dataPhase = await runPhase(
    runDir,
    'datasets',
    configHash({
      tok: tokPhase.value,
      data: config.data,
      seqLen: config.finetune.seqLen,
      chat: chatTemplateFor(config, tokenizer),
    }),
    async () => {
      reporter.log('datasets: tokenizing the training sets');
      return writeTrainingSets(
        tokenizer,
        await text(),
        join(runDir, 'data'),
        config.finetune.seqLen,
        chatTemplateFor(config, tokenizer),
      );
    },
  );
  note('datasets', dataPhase);
  const sets: TrainingSets = dataPhase.value;
  checkAbort();

  // 2. The base model and its scores (step 0 of every arm).
  const baseHash = configHash({
    recipe: baseFingerprint(config),
    origin: base.origin,
    from: base.from,
    eval: config.eval,
    seed: config.seed,
  });
  const basePhase = await runPhase(runDir, 'base', baseHash, async (): Promise<BaseResult> => {
    let curve: BaseResult['curve'] = [];
    if (base.origin === 'shipped') {
      reporter.log(`base: the shipped base (${base.from})`);
      copyBase(base.from!, base.dir);
    } else if (base.origin === 'pretrained') {
      reporter.log(`base: pretraining ${config.pretrain.steps} steps on the source domain`);
      if (!sets.source) throw new ExperimentError('base', 'no tokenized source set to pretrain on');
      ({ curve } = await pretrainBase(config, tokenizer, sets.source, runDir, base.dir, (p) =>
        reporter.progress('pretrain', p.step, config.pretrain.steps),
      ));
      reporter.done?.('pretrain');
    }
    const { model } = await loadPretrained(base.dir);
    try {
      reporter.log('base: evaluating');
      const tasks = [...new Set(config.arms.map((a) => a.task))];
      const out = await evaluateModel(model, tokenizer, evalSets, config, {
        tasks,
        full: true,
        seed: config.seed,
      });
      let params = 0;
      for (const p of model.parameters().values()) params += p.variable.size;
      return {
        origin: base.origin,
        dir: base.dir,
        params,
        modelConfig: { ...model.config },
        curve,
        metrics: out.metrics,
        items: out.items,
      };
    } finally {
      model.dispose();
    }
  });
  note('base', basePhase);
  const baseResult = basePhase.value;
  checkAbort();

  // 3-4. The arms, in config order; each evaluated along the way and at the end.
  const arms: ArmResult[] = [];
  for (const arm of config.arms) {
    const armDir = join(runDir, 'arms', arm.name);
    const hash = configHash({
      arm,
      finetune: config.finetune,
      eval: config.eval,
      seed: config.seed,
      base: baseHash,
      data: dataPhase.value,
    });
    const phase = await runPhase(runDir, `arm:${arm.name}`, hash, async () => {
      reporter.log(`arm ${arm.name}: ${arm.method}${arm.r ? ` r=${arm.r}` : ''} on ${arm.task}`);
      const run = await finetuneArm(config, arm, base.dir, tokenizer, sets, evalSets, join(armDir, 'train'), {
        onStep: (step, total) => reporter.progress(arm.name, step, total),
        ...(signal ? { signal } : {}),
      });
      reporter.done?.(arm.name);
      const last = run.evals[run.evals.length - 1]!;
      reporter.log(
        `arm ${arm.name}: ${Object.entries(last.metrics)
          .map(([k, v]) => `${k} ${v.toFixed(3)}`)
          .join(', ')}`,
      );
      const start: EvalPoint = { step: 0, tokens: 0, metrics: baseResult.metrics };
      const result: ArmResult = {
        arm,
        lr: run.lr,
        weightDecay: run.weightDecay,
        trainableParams: run.trainableParams,
        steps: run.steps,
        tokens: run.tokens,
        wallSeconds: run.wallSeconds,
        curve: run.curve,
        evals: [start, ...run.evals],
        items: run.items,
        rank: null,
      };
      return { result, finalDir: run.finalDir };
    });
    note(`arm:${arm.name}`, phase);
    checkAbort();
    // 5. Rank analysis of ΔW.
    const rank = await runPhase(
      runDir,
      `rank:${arm.name}`,
      configHash({ arm: hash, tau: config.rank.tau }),
      async () => {
        reporter.log(`rank ${arm.name}: spectra of ΔW`);
        return analyseUpdate(base.dir, phase.value.finalDir, arm.method, config.rank.tau, config.seed);
      },
    );
    note(`rank:${arm.name}`, rank);
    arms.push({ ...phase.value.result, rank: rank.value });
    checkAbort();
  }

  // 6. results.json, then the report drawn from it alone.
  const results: ExperimentResults = {
    format: RESULTS_FORMAT,
    version: RESULTS_VERSION,
    config,
    environment: {
      backend: backend.name,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpus().length,
      packages: packageVersions(),
    },
    startedAt,
    finishedAt: new Date().toISOString(),
    timings,
    base: baseResult,
    arms,
  };
  const resultsFile = join(runDir, 'results.json');
  writeJsonAtomic(resultsFile, results);
  const report = await writeReport(runDir);
  reporter.log(`report: ${report.html}`);
  return {
    outputDir: runDir,
    resultsFile,
    report,
    results,
    wallSeconds: (performance.now() - t0) / 1000,
    skipped,
  };
}
