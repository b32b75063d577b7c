// The training loop: one function for full finetuning and LoRA, continued pretraining and instruction finetuning.
// Read top to bottom: setup (backend, model, adapter, optimizer, data, resume), the loop (micro-batches with
// accumulation, one loss normalisation by the step's total target tokens, clipping, schedule, update, log, eval,
// checkpoint), and the end (final checkpoint, final eval, the final model or adapter folder, train_result.json).

import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { DataLoader, type LoaderState } from '@loralab/data';
import { adapterParametersByKey, LoraModel, saveAdapter } from '@loralab/lora';
import {
  checkpointFiles,
  initBackend,
  type LlamaConfig,
  LlamaForCausalLM,
  loadSafetensorsInto,
  type Parameter,
  readConfigJson,
  readSafetensors,
  savePretrained,
  writeFileAtomic,
} from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import {
  latestCheckpoint,
  readOptimizerState,
  readTrainerState,
  TRAINER_STATE_NAME,
  type TrainerState,
  writeCheckpoint,
  writeDirAtomic,
  writeOptimizerState,
  writeTrainerState,
} from './checkpoint.js';
import { clipFactor, globalNorm, scaleGrads } from './clip.js';
import { type ResolvedTrainConfig, resolveTrainConfig, type TrainConfig } from './config.js';
import { CheckpointError, ConfigError, TrainingError } from './errors.js';
import { createHeldOutEvaluator, type Evaluator } from './evaluate.js';
import { TrainingGuard } from './guard.js';
import { METRICS_NAME, type MetricsRecord, MetricsWriter, Progress } from './metrics.js';
import { modelInputs } from './model-inputs.js';
import { createOptimizer, type Optimizer, paramGroups } from './optimizer.js';
import { resolveSchedule, scheduleFactor } from './schedule.js';
import { packageVersions } from './versions.js';

export interface TrainHooks {
  /** Run after the built-in held-out loss every `evalEvery` steps and at the end; logged as `eval/<name>/<key>`. */
  evaluators?: Evaluator[];
  /** Receives every metrics record (training and eval lines) as it is written. */
  onLog?(record: MetricsRecord): void;
  /** Aborting stops after the current step: a checkpoint is written, then `TrainingError` (reason `aborted`). */
  signal?: AbortSignal;
  /** Console progress on stderr (a bar on a TTY, plain lines otherwise); default true, false for silence. */
  progress?: boolean;
}

export interface TrainResult {
  outputDir: string;
  /** Optimizer steps completed (including those before a resume). */
  steps: number;
  /** Passes over the training data completed, fractional (samples consumed / samples per epoch). */
  epochs: number;
  /** Optimizer steps of one pass over the training data (the last one may be short). */
  stepsPerEpoch: number;
  /** Real (non-padding) tokens seen. */
  tokensSeen: number;
  /** Loss of the last step. */
  finalLoss: number;
  /** Held-out loss at the end, or null without `data.eval`. */
  finalEvalLoss: number | null;
  /** `${outputDir}/final`: a Hugging Face model folder (full) or a PEFT adapter folder (lora). */
  finalDir: string;
  /** Wall time of this call. */
  wallSeconds: number;
  /** The checkpoint this call resumed from, or null. */
  resumedFrom: string | null;
}

/** Tokenizer files copied from a base model folder into the final model folder. */
const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'generation_config.json',
];

/** Seed of the dropout masks of micro-batch k of step s: a pure function, so a resumed run draws the same masks. */
export function dropoutSeed(seed: number, step: number, micro: number): number {
  return (((seed * 1_000_003 + step) * 257 + micro) % 2_147_483_629) + 1; // never 0 (tfjs: unseeded)
}

/** Builds the model: weights from `weightsDir` (a model folder), else the base folder, else a random init. */
async function buildModel(c: ResolvedTrainConfig, weightsDir: string | null): Promise<LlamaForCausalLM> {
  const dropout: Partial<LlamaConfig> = {};
  if (c.dropout.attention !== undefined) dropout.attention_dropout = c.dropout.attention;
  if (c.dropout.residual !== undefined) dropout.residual_dropout = c.dropout.residual;
  const base = 'path' in c.model ? await readConfigJson(join(c.model.path, 'config.json')) : c.model.init;
  const source = weightsDir ?? ('path' in c.model ? c.model.path : null);
  if (source === null) {
    const seed = 'init' in c.model ? (c.model.seed ?? c.seed) : c.seed;
    return new LlamaForCausalLM({ ...base, ...dropout }, { seed });
  }
  const model = new LlamaForCausalLM({ ...base, ...dropout }, { empty: true });
  try {
    await loadSafetensorsInto(model, [...(await checkpointFiles(source)).keys()]);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/**
 * Real steps of the run: `steps` or the steps `maxTokens` need (estimated for ift), whichever is smaller, else the
 * steps `epochs` give. Without epochs the loader cycles the data until then (Hugging Face's `max_steps`); with
 * epochs set, a `steps` or `maxTokens` beyond them is a ConfigError stating the epoch length, never a silent cut.
 */
function totalSteps(c: ResolvedTrainConfig, loader: DataLoader): number {
  const perStep = c.data.microBatchSize * c.gradAccumulation;
  const perEpoch = loader.samplesPerEpoch;
  const epochs = c.epochs ?? c.data.epochs;
  const epochSteps =
    epochs === null
      ? null
      : Math.ceil(Math.ceil((perEpoch * epochs) / c.data.microBatchSize) / c.gradAccumulation);
  const wanted: [key: 'steps' | 'maxTokens', steps: number][] = [];
  if (c.steps !== null) wanted.push(['steps', c.steps]);
  if (c.maxTokens !== null) {
    const m = loader.manifest.totals;
    // For ift an upper bound of the tokens per sample, so the steps needed are never overestimated.
    const perSample =
      c.task === 'cpt' ? c.data.seqLen : Math.min(c.data.seqLen, m.tokens / Math.max(1, m.rows));
    wanted.push(['maxTokens', Math.ceil(c.maxTokens / (perSample * perStep))]);
  }
  if (epochSteps !== null) {
    for (const [key, steps] of wanted) {
      if (steps <= epochSteps) continue;
      const need = Math.ceil((steps * perStep) / perEpoch);
      const unit = c.task === 'cpt' ? `sequences of ${c.data.seqLen} tokens` : 'rows';
      const what = key === 'steps' ? `steps ${steps}` : `maxTokens ${c.maxTokens} (about ${steps} steps)`;
      throw new ConfigError(
        `TrainConfig.${key}: ${what} exceeds the ${epochSteps} steps of epochs ${epochs}: one epoch is ${perEpoch} samples (${unit}), ${Math.ceil(perEpoch / perStep)} steps of ${perStep}; set epochs to ${need} or null (the data then repeats until ${key} is reached), or ${key === 'steps' ? `steps to at most ${epochSteps}` : 'lower maxTokens'}`,
        key,
        key === 'steps' ? c.steps : c.maxTokens,
      );
    }
  }
  const bounds = wanted.length > 0 ? wanted.map(([, n]) => n) : [epochSteps!];
  return Math.max(1, Math.min(...bounds));
}

function rssMb(): number {
  return Math.round((process.memoryUsage().rss / 2 ** 20) * 10) / 10;
}

/** Trains a model as `config` says and writes the run folder (see the README). */
export async function train(config: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult> {
  const c = resolveTrainConfig(config);
  const t0 = performance.now();
  const outputDir = resolve(c.outputDir);
  await mkdir(outputDir, { recursive: true });
  await initBackend(c.backend === 'auto' ? undefined : (c.backend as never), {
    precision: c.precision,
  }).catch((e: unknown) => {
    if (!(e instanceof ConfigError) || e.key !== 'precision') throw e;
    throw new ConfigError(`TrainConfig.precision: ${e.message}`, 'precision', c.precision, { cause: e });
  });

  // ---- resume point --------------------------------------------------------------------------------------
  let resumeDir: string | null = null;
  if (c.resume === null && (await latestCheckpoint(outputDir)) !== null) {
    throw new ConfigError(
      `TrainConfig.outputDir: ${outputDir} holds checkpoints of an earlier run; set resume: 'auto' to continue it, or train into another (or an emptied) folder`,
      'outputDir',
      c.outputDir,
    );
  }
  if (c.resume === 'auto') resumeDir = await latestCheckpoint(outputDir);
  else if (c.resume !== null) {
    resumeDir = isAbsolute(c.resume) ? c.resume : resolve(c.resume);
    if (!existsSync(join(resumeDir, TRAINER_STATE_NAME)))
      throw new ConfigError(
        `TrainConfig.resume: ${resumeDir} holds no ${TRAINER_STATE_NAME}`,
        'resume',
        c.resume,
      );
  }
  const resumed = resumeDir ? await readTrainerState(resumeDir) : null;
  if (resumed && (resumed.method !== c.method || resumed.task !== c.task)) {
    throw new ConfigError(
      `TrainConfig.resume: the checkpoint ${resumeDir} is of method ${resumed.method}/${resumed.task}, this run ${c.method}/${c.task}`,
      'resume',
      c.resume,
    );
  }

  // ---- model, trainable parameters, optimizer -------------------------------------------------------------
  const model = await buildModel(c, resumed && c.method === 'full' ? resumeDir : null);
  let lora: LoraModel | null = null;
  let optimizer: Optimizer | null = null;
  let heldOut: Evaluator | null = null;
  let bar: Progress | null = null;
  try {
    if (c.method === 'lora') {
      lora = new LoraModel(model, c.lora, 'default', { seed: c.seed, resolve: { onWarning: () => {} } });
      if (resumed) {
        const { tensors } = await readSafetensors(join(resumeDir!, 'adapter_model.safetensors'));
        for (const [key, p] of adapterParametersByKey(lora)) assignFrom(p, tensors.get(key), key, resumeDir!);
      }
    } else {
      const embed = 'model.embed_tokens.weight';
      if (c.freezeEmbeddings) model.setTrainable(false, (n) => n === embed);
      if (c.freezeLmHead) model.setTrainable(false, (n) => n === 'lm_head.weight');
    }
    const params = model.trainableParameters();
    if (params.length === 0)
      throw new ConfigError('TrainConfig: no parameter is trainable', 'method', c.method);
    const groups = paramGroups(params, { ...c.optimizer, loraPlusRatio: c.loraPlusRatio });
    optimizer = createOptimizer({ ...c.optimizer }, groups);
    if (resumed) {
      optimizer.loadState(await readOptimizerState(resumeDir!), resumed.optimizer.steps);
    }

    // ---- data, schedule ---------------------------------------------------------------------------------
    const loader = await DataLoader.open(c.data.train, {
      mode: c.task === 'cpt' ? 'pack' : 'rows',
      seqLen: c.data.seqLen,
      batchSize: c.data.microBatchSize,
      seed: c.seed,
      shuffle: c.data.shuffle,
      shuffleBlock: c.data.shuffleBlock,
      epochs: c.epochs ?? c.data.epochs,
      rank: 0,
      worldSize: 1,
    });
    const total = totalSteps(c, loader);
    const schedule = resolveSchedule(c.schedule, total);
    if (c.data.eval !== null) {
      heldOut = await createHeldOutEvaluator('loss', c.data.eval, {
        task: c.task,
        seqLen: c.data.seqLen,
        microBatchSize: c.data.microBatchSize,
        batches: c.evalBatches,
      });
    }
    const evaluators = hooks.evaluators ?? [];

    // ---- run folder -------------------------------------------------------------------------------------
    await writeFileAtomic(
      join(outputDir, 'config.json'),
      `${JSON.stringify({ ...c, outputDir, totalSteps: total, versions: packageVersions() }, null, 2)}\n`,
    );
    const metrics = new MetricsWriter(join(outputDir, METRICS_NAME));
    await metrics.truncateAfter(resumed?.step ?? 0);
    if (hooks.progress !== false) bar = new Progress(total);

    let step = resumed?.step ?? 0;
    let tokensSeen = resumed?.tokensSeen ?? 0;
    let targetTokens = resumed?.targetTokens ?? 0;
    let loaderState: LoaderState = resumed?.loader ?? loader.initialState();
    let lastLoss = resumed?.lastLoss ?? Number.NaN;
    let lastEvalLoss: number | null = resumed?.lastEvalLoss ?? null;
    let lastLr = 0;
    let lastCheckpoint: string | null = resumeDir;
    let savedAt = resumed ? step : -1;
    // The guard: weights are checked at the start (a base or checkpoint beyond the bound is refused before any
    // step), every logEvery steps, before every checkpoint and at the end; checkpoints are written only when healthy.
    const guard = new TrainingGuard(c.guard, model.config.vocab_size, step, () => lastCheckpoint);
    await guard.checkWeights(
      params,
      step,
      resumeDir ?? ('path' in c.model ? c.model.path : 'the initialisation'),
    );
    let saveDue = false;
    let evaluatedAt = resumed?.evaluatedAt ?? -1;
    const log = async (record: MetricsRecord) => {
      await metrics.write(record);
      hooks.onLog?.(record);
      bar?.update(record);
    };

    const saveCheckpoint = async () => {
      await guard.checkWeights(params, step);
      const state: TrainerState = {
        version: 1,
        step,
        tokensSeen,
        targetTokens,
        method: c.method,
        task: c.task,
        optimizer: {
          name: c.optimizer.name,
          implementation: optimizer!.implementation,
          steps: optimizer!.steps,
        },
        scheduler: { ...schedule, lastLr },
        rng: { seed: c.seed, nextStep: step },
        loader: loaderState,
        lastLoss,
        lastEvalLoss,
        evaluatedAt,
      };
      const moments = await optimizer!.stateTensors();
      lastCheckpoint = await writeCheckpoint(outputDir, step, c.keepLast, async (dir) => {
        await saveWeights(dir, model, lora, c);
        await writeOptimizerState(dir, moments);
        await writeTrainerState(dir, state);
      });
      savedAt = step;
      saveDue = false;
    };

    // The built-in held-out loss is logged as `eval/loss` (and `eval/tokens`), evaluator results as `eval/<name>/<key>`.
    const evaluate = async () => {
      evaluatedAt = step;
      if (!heldOut && evaluators.length === 0) return;
      const record: MetricsRecord = { step, tokens: tokensSeen };
      const ctx = { model, step, tokensSeen };
      if (heldOut) {
        const r = await heldOut.run(ctx);
        record['eval/loss'] = r.loss!;
        record['eval/tokens'] = r.tokens!;
        lastEvalLoss = r.loss!;
      }
      for (const e of evaluators) {
        for (const [k, v] of Object.entries(await e.run(ctx))) record[`eval/${e.name}/${k}`] = v;
      }
      await log(record);
    };

    // ---- the loop ---------------------------------------------------------------------------------------
    const batches = loader.batches(resumed ? loaderState : undefined)[Symbol.asyncIterator]();
    let windowLoss = 0;
    let windowSteps = 0;
    let windowTokens = 0;
    let windowSeconds = 0; // time in steps only: evaluations and checkpoints do not lower tokens_per_s
    let loggedAt = step;
    let lastGradNorm = Number.NaN;
    const logWindow = async () => {
      await log({
        step,
        tokens: tokensSeen,
        epoch: epochOf(loaderState, loader.samplesPerEpoch),
        loss: windowLoss / windowSteps,
        grad_norm: lastGradNorm,
        lr: lastLr,
        tokens_per_s: windowTokens / Math.max(1e-9, windowSeconds),
        rss_mb: rssMb(),
        tensor_mb: Math.round((tf.memory().numBytes / 2 ** 20) * 10) / 10,
      });
      windowLoss = 0;
      windowSteps = 0;
      windowTokens = 0;
      windowSeconds = 0;
      loggedAt = step;
    };
    let exhausted = false;
    while (step < total && !exhausted && !(c.maxTokens !== null && tokensSeen >= c.maxTokens)) {
      // Accumulate Σ loss and Σ ∇loss over the step's micro-batches, then divide by the step's target tokens N:
      // the step's loss is (1/N) Σ_micro Σ_tokens −log p, exactly that of one batch holding every micro-batch.
      const stepStart = performance.now();
      let lossSum = 0;
      let numTokens = 0;
      let realTokens = 0;
      let micro = 0;
      let grads = new Map<string, tf.Tensor>();
      for (; micro < c.gradAccumulation; micro++) {
        const next = await batches.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        const batch = next.value;
        loaderState = batch.state;
        realTokens += batch.tokens;
        const x = modelInputs(batch);
        if (x.numTokens === 0) continue;
        const r = model.lossAndGradients(x.ids, x.labels, {
          parameters: params,
          seed: dropoutSeed(c.seed, step, micro),
          training: true,
          checkpoint: c.gradientCheckpointing,
        });
        lossSum += (await r.loss.data())[0]!;
        r.loss.dispose();
        numTokens += r.numTokens;
        grads = accumulate(grads, r.grads);
      }
      if (micro === 0) break; // the data ended exactly at a step boundary
      const loss = lossSum / Math.max(1, numTokens);
      // Gradient of the normalised loss: g = Σ∇ / N. Its global norm ‖g‖ = √Σ‖Σ∇‖² / N.
      const gradNorm = globalNorm(grads.values(), Math.max(1, numTokens));
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        tf.dispose([...grads.values()]);
        const what = Number.isFinite(loss) ? 'gradient norm' : 'loss';
        throw new TrainingError(
          `step ${step + 1}: the ${what} is ${Number.isFinite(loss) ? gradNorm : loss}; training stopped. ${lastCheckpoint ? `The last good checkpoint is ${lastCheckpoint}` : 'No checkpoint was written'} (lower optimizer.lr, set clipGradNorm, or check the data).`,
          step + 1,
          Number.isFinite(loss) ? 'non-finite-grad' : 'non-finite-loss',
          lastCheckpoint,
        );
      }
      // Clipping (torch.nn.utils.clip_grad_norm_) and the 1/N normalisation in one scaling.
      const final = scaleGrads(grads, clipFactor(gradNorm, c.clipGradNorm) / Math.max(1, numTokens));
      lastLr = c.optimizer.lr * scheduleFactor(schedule, step);
      optimizer.step(final, lastLr);
      tf.dispose([...final.values()]);
      step++;
      tokensSeen += realTokens;
      targetTokens += numTokens;
      lastLoss = loss;
      windowLoss += loss;
      windowSteps++;
      windowTokens += realTokens;
      windowSeconds += (performance.now() - stepStart) / 1000;

      const last = step >= total || exhausted || (c.maxTokens !== null && tokensSeen >= c.maxTokens);
      lastGradNorm = gradNorm;
      const logged = step % c.logEvery === 0 || last;
      if (logged) await logWindow();
      guard.observe({ step, loss, gradNorm, numTokens });
      if (logged && !last) await guard.checkWeights(params, step);
      if (c.evalEvery !== null && step % c.evalEvery === 0 && !last) await evaluate();
      // A save due inside a zero-gradient or high-loss streak waits for the streak to end (or the guard to stop).
      if (c.saveEvery !== null && step % c.saveEvery === 0 && !last) saveDue = true;
      if (saveDue && guard.healthy && !last) await saveCheckpoint();
      if (hooks.signal?.aborted) {
        if (savedAt !== step) await saveCheckpoint();
        throw new TrainingError(
          `training aborted after step ${step}; resume from ${lastCheckpoint}`,
          step,
          'aborted',
          lastCheckpoint,
        );
      }
    }

    // ---- the end ----------------------------------------------------------------------------------------
    if (loggedAt !== step) await logWindow();
    if (evaluatedAt !== step) await evaluate(); // a run resumed at its last step was evaluated before
    if (savedAt !== step) await saveCheckpoint();
    bar?.end();
    const finalDir = await writeDirAtomic(outputDir, 'final', async (dir) => {
      await saveWeights(dir, model, lora, c);
      if (c.method === 'full' && 'path' in c.model) {
        for (const f of TOKENIZER_FILES) {
          const src = join(c.model.path, f);
          if (existsSync(src)) await copyFile(src, join(dir, f));
        }
      }
    });
    const result: TrainResult = {
      outputDir,
      steps: step,
      epochs: epochOf(loaderState, loader.samplesPerEpoch),
      stepsPerEpoch: Math.ceil(loader.samplesPerEpoch / (c.data.microBatchSize * c.gradAccumulation)),
      tokensSeen,
      finalLoss: lastLoss,
      finalEvalLoss: c.data.eval !== null ? lastEvalLoss : null,
      finalDir,
      wallSeconds: (performance.now() - t0) / 1000,
      resumedFrom: resumeDir,
    };
    await writeFileAtomic(join(outputDir, 'train_result.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    bar?.end();
    optimizer?.dispose();
    lora?.dispose();
    model.dispose();
  }
}

/** Passes over the data completed at loader state `s`, fractional. */
function epochOf(s: LoaderState, samplesPerEpoch: number): number {
  return s.epoch + s.sample / Math.max(1, samplesPerEpoch);
}

/** g_acc + g for every name (the sums replace the inputs, which are disposed). */
function accumulate(acc: Map<string, tf.Tensor>, grads: Map<string, tf.Tensor>): Map<string, tf.Tensor> {
  if (acc.size === 0) return grads;
  for (const [name, g] of grads) {
    const prev = acc.get(name);
    if (prev) {
      acc.set(name, tf.add(prev, g));
      tf.dispose([prev, g]);
    } else acc.set(name, g);
  }
  return acc;
}

/** Copies a checkpoint tensor into a live parameter, checking its shape. */
function assignFrom(
  p: Parameter,
  t: { shape: number[]; data: Float32Array } | undefined,
  key: string,
  dir: string,
): void {
  if (!t || !tf.util.arraysEqual(t.shape, p.variable.shape)) {
    throw new CheckpointError(
      `${dir}: adapter tensor '${key}' is ${t ? `of shape [${t.shape}]` : 'missing'}, expected [${p.variable.shape}] (resume with the LoRA config the checkpoint was trained with)`,
      dir,
      key,
    );
  }
  const value = tf.tensor(t.data, t.shape);
  p.variable.assign(value);
  value.dispose();
}

/** The trained weights: a Hugging Face model folder (full) or a PEFT adapter folder naming its base (lora). */
async function saveWeights(
  dir: string,
  model: LlamaForCausalLM,
  lora: LoraModel | null,
  c: ResolvedTrainConfig,
) {
  if (lora) {
    await saveAdapter(lora, dir, {
      baseModelNameOrPath: 'path' in c.model ? resolve(c.model.path) : null,
      dtype: c.saveDtype,
    });
  } else {
    await savePretrained(model, dir, { dtype: c.saveDtype });
  }
}
