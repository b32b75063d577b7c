// The shared phases every unit needs, run once per run folder: tokenizer, tokenized training sets, the base model
// and its scores (step 0 of every unit). Processes of a job array do not race on them: the first takes a lock
// (`.prepare.lock`, an atomic mkdir) and the others wait for its completion markers.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeJsonAtomic } from '@loralab/data';
import { type BackendName, initBackend, loadPretrained } from '@loralab/model';
import { Tokenizer } from '@loralab/tokenizer';
import { baseFingerprint, copyBase, pretrainBase, shippedBaseFor } from './base-model.js';
import type { ExperimentConfig } from './config.js';
import { BackendMismatchError, ExperimentError } from './errors.js';
import { buildEvalSets, type EvalSets, evaluateModel, writeSamples } from './evaluation.js';
import { configHash, runPhase } from './phase-marker.js';
import { planConditions } from './plan.js';
import {
  chatTemplateFor,
  readHeldOut,
  type TrainingSets,
  type TrainText,
  trainText,
  trainTokenizer,
  writeTrainingSets,
} from './prepare-data.js';
import type { Reporter } from './reporter.js';
import type { BaseResult } from './results.js';

/** What the shared phases leave for the units. */
export interface Prepared {
  backend: string;
  tokenizer: Tokenizer;
  sets: TrainingSets;
  evalSets: EvalSets;
  base: BaseResult;
  /** Hash of everything the base and data depend on (part of every unit's marker hash). */
  baseHash: string;
  dataHash: string;
  /** Seconds per shared phase (of the process that did the work) and the phases skipped here. */
  timings: Record<string, number>;
  skipped: string[];
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

/**
 * Checks (or records, on first use) the config and backend of a run folder: a folder holds one config on one
 * backend, so results of another config or of another backend are never mixed into it.
 */
export async function openRunFolder(config: ExperimentConfig, runDir: string): Promise<string> {
  writeRunConfig(config, runDir);
  const backend = (await initBackend(config.backend === 'auto' ? undefined : (config.backend as BackendName)))
    .name;
  const backendFile = join(runDir, 'backend.json');
  if (existsSync(backendFile)) {
    const recorded = (JSON.parse(readFileSync(backendFile, 'utf8')) as { backend: string }).backend;
    if (recorded !== backend) throw new BackendMismatchError(recorded, backend, backendFile);
  } else writeJsonAtomic(backendFile, { backend });
  return backend;
}

/** Writes `<runDir>/config.json`, or checks that the folder's config is this one (ExperimentError if not). */
export function writeRunConfig(config: ExperimentConfig, runDir: string): void {
  mkdirSync(runDir, { recursive: true });
  const configFile = join(runDir, 'config.json');
  if (existsSync(configFile)) {
    const before = JSON.parse(readFileSync(configFile, 'utf8'));
    // The backend is checked on its own (backend.json, BackendMismatchError), not as a config difference.
    const sansBackend = (c: ExperimentConfig) => configHash({ ...c, backend: null });
    if (sansBackend(before) !== sansBackend(config)) {
      throw new ExperimentError(
        'experiment',
        'this folder holds a run of another config; rerun with the same config to resume, or choose a new output folder',
        { file: configFile },
      );
    }
  } else writeJsonAtomic(configFile, config);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `work` holding `<runDir>/.prepare.lock` (an atomic mkdir holding the owner's host and pid). Another process
 * waits until the lock is gone; a lock left by a dead process on this host is taken over.
 */
async function withPrepareLock<T>(runDir: string, work: () => Promise<T>, reporter: Reporter): Promise<T> {
  const lock = join(runDir, '.prepare.lock');
  let waited = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'owner.json'), JSON.stringify({ host: hostname(), pid: process.pid }));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner: { host?: string; pid?: number } = {};
      try {
        owner = JSON.parse(readFileSync(join(lock, 'owner.json'), 'utf8'));
      } catch {
        // the owner is between mkdir and writing owner.json
      }
      if (owner.host === hostname() && owner.pid !== undefined && !processAlive(owner.pid)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!waited)
        reporter.log(
          `prepare: another process (${owner.host ?? '?'} pid ${owner.pid ?? '?'}) holds ${lock}; waiting`,
        );
      waited = true;
      await sleep(500);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Runs (or reads the markers of) the shared phases: tokenizer, datasets, base and its evaluation. */
export async function prepareShared(
  config: ExperimentConfig,
  runDir: string,
  reporter: Reporter,
): Promise<Prepared> {
  const backend = await openRunFolder(config, runDir);
  return withPrepareLock(
    runDir,
    async () => {
      const timings: Record<string, number> = {};
      const skipped: string[] = [];
      const note = (phase: string, r: { skipped: boolean; seconds: number }) => {
        timings[phase] = r.seconds;
        if (r.skipped) skipped.push(phase);
      };
      const evalSets = buildEvalSets(config, await readHeldOut(config));
      const base = planBase(config, runDir, reporter);
      // The training text's streams (and the tokenizer's sample), opened only when a phase that needs them runs.
      let streams: Promise<TrainText> | null = null;
      const text = () => {
        streams ??= trainText(config, base.origin === 'pretrained');
        return streams;
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
      const dataHash = configHash({
        tok: tokPhase.value,
        data: config.data,
        seqLen: config.finetune.seqLen,
        chat: chatTemplateFor(config, tokenizer),
      });
      const dataPhase = await runPhase(runDir, 'datasets', dataHash, async () => {
        reporter.log('datasets: tokenizing the training sets');
        return writeTrainingSets(
          tokenizer,
          await text(),
          join(runDir, 'data'),
          config.finetune.seqLen,
          chatTemplateFor(config, tokenizer),
        );
      });
      note('datasets', dataPhase);
      const sets: TrainingSets = dataPhase.value;

      const baseHash = configHash({
        recipe: baseFingerprint(config),
        origin: base.origin,
        from: base.from,
        eval: config.eval,
        seed: config.seed,
        conditions: planConditions(config),
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
          reporter.log('base: evaluating the source domain');
          const source = await evaluateModel(model, tokenizer, evalSets, config, {
            condition: null,
            full: true,
            seed: config.seed,
          });
          const conditions: BaseResult['conditions'] = {};
          for (const c of planConditions(config)) {
            reporter.log(`base: evaluating the ${c} target`);
            const out = await evaluateModel(
              model,
              tokenizer,
              { ...evalSets, sourceDocs: [], choiceTasks: [] },
              config,
              { condition: c, full: true, seed: config.seed },
            );
            writeSamples(runDir, `base--${c}`, out.samples);
            conditions[c] = { metrics: out.metrics, items: out.items };
          }
          let params = 0;
          for (const p of model.parameters().values()) params += p.variable.size;
          return {
            origin: base.origin,
            dir: base.dir,
            params,
            modelConfig: { ...model.config },
            curve,
            metrics: source.metrics,
            items: source.items,
            conditions,
          };
        } finally {
          model.dispose();
        }
      });
      note('base', basePhase);
      return {
        backend,
        tokenizer,
        sets,
        evalSets,
        base: basePhase.value,
        baseHash,
        dataHash,
        timings,
        skipped,
      };
    },
    reporter,
  );
}
