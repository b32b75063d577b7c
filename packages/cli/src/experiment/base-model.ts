// Phase 2: the base model, pretrained on the source domain (or the package's shipped copy of exactly that
// recipe's output, or a Hugging Face folder at real scale). Its folder holds config.json, model.safetensors and
// the tokenizer files, so every arm and evaluation loads it by path.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeJsonAtomic } from '@loralab/data';
import { loadPretrained, savePretrained } from '@loralab/model';
import type { Tokenizer } from '@loralab/tokenizer';
import { type TrainConfig, train } from '@loralab/train';
import type { ExperimentConfig } from './config.js';
import { ExperimentError } from './errors.js';
import { configHash } from './phase-marker.js';
import type { CurvePoint } from './results.js';

/** Where the package keeps its shipped base (`packages/cli/base/`, next to `src/` and `dist/`). */
export const SHIPPED_BASE_DIR = fileURLToPath(new URL('../../base/', import.meta.url));

/** The file in a shipped base folder that says which recipe made it. */
export const BASE_RECIPE_NAME = 'base-recipe.json';

/**
 * Everything that determines the pretrained base: a shipped base is reused only when its recipe fingerprint
 * equals the config's. (The finetuning seed is not part of it: every arm of every seed starts from one base.)
 */
export function baseRecipe(config: ExperimentConfig) {
  const d = config.data;
  return {
    tokenizer: config.tokenizer,
    model: config.model,
    pretrain: config.pretrain,
    data: {
      source: d.source,
      sourceTest: d.sourceTest,
      sourceTestFraction: d.sourceTestFraction,
      mathTrain: d.mathTrain,
      codeTrain: d.codeTrain,
    },
  };
}

export function baseFingerprint(config: ExperimentConfig): string {
  return configHash(baseRecipe(config));
}

/** The shipped base folder when it exists and matches the config's recipe; otherwise why not. */
export function shippedBaseFor(
  config: ExperimentConfig,
  dir = SHIPPED_BASE_DIR,
): { dir: string } | { reason: string } {
  const file = join(dir, BASE_RECIPE_NAME);
  if (!existsSync(file)) return { reason: `no shipped base at ${dir}` };
  const recipe = JSON.parse(readFileSync(file, 'utf8')) as { fingerprint?: string };
  const want = baseFingerprint(config);
  if (recipe.fingerprint !== want) {
    return {
      reason: `the shipped base was made by another recipe (fingerprint ${recipe.fingerprint}, this config ${want})`,
    };
  }
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) {
    if (!existsSync(join(dir, f))) return { reason: `the shipped base lacks ${f}` };
  }
  return { dir };
}

/** Copies a shipped or external base folder into the run (weights read back as float32 by every phase). */
export function copyBase(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  cpSync(from, to, { recursive: true });
}

/** The optimizer, schedule and data settings shared by pretraining and the arms. */
function schedule(warmupRatio: number): TrainConfig['schedule'] {
  return { name: 'cosine', warmupRatio, minLrRatio: 0.1 };
}

/**
 * Pretrains a Llama base of `config.model`'s shape from random initialisation on the tokenized source domain
 * (packed sequences, AdamW, cosine to 10%), then writes `outDir` = the final model folder plus the tokenizer.
 */
export async function pretrainBase(
  config: ExperimentConfig,
  tokenizer: Tokenizer,
  sourceSet: string,
  runDir: string,
  outDir: string,
  onLog?: (p: CurvePoint) => void,
  signal?: AbortSignal,
): Promise<{ curve: CurvePoint[] }> {
  const p = config.pretrain;
  // Pretraining a base of millions of parameters takes hours here: it checkpoints every `saveEvery` steps and a
  // rerun of the same run folder resumes from the newest checkpoint (exactly: data order, rng and optimizer state).
  const trainDir = join(runDir, 'pretrain');
  const resume = existsSync(join(trainDir, 'checkpoints')) ? 'auto' : null;
  const curve: CurvePoint[] = [];
  const bos = tokenizer.bos?.id ?? null;
  const eos = tokenizer.eos?.id ?? null;
  const result = await train(
    {
      outputDir: trainDir,
      method: 'full',
      task: 'cpt',
      model: {
        init: {
          ...config.model,
          vocab_size: tokenizer.vocabSize,
          ...(bos !== null ? { bos_token_id: bos } : {}),
          ...(eos !== null ? { eos_token_id: eos } : {}),
          pad_token_id: tokenizer.pad?.id ?? null,
        },
        seed: p.seed,
      },
      data: { train: sourceSet, seqLen: p.seqLen, microBatchSize: p.microBatchSize },
      steps: p.steps,
      optimizer: { name: 'adamw', lr: p.lr, beta1: 0.9, beta2: 0.95, weightDecay: p.weightDecay },
      schedule: schedule(p.warmupRatio),
      clipGradNorm: 1,
      seed: p.seed,
      logEvery: Math.max(1, Math.round(p.steps / 50)),
      saveEvery: Math.max(1, Math.round(p.steps / 20)),
      keepLast: 1,
      resume,
      backend: config.backend,
    },
    {
      progress: false,
      signal,
      onLog(r) {
        if (typeof r.loss === 'number' && typeof r.lr === 'number') {
          const point = { step: r.step, loss: r.loss, lr: r.lr };
          curve.push(point);
          onLog?.(point);
        }
      },
    },
  );
  if (!existsSync(join(result.finalDir, 'config.json'))) {
    throw new ExperimentError('base', 'pretraining wrote no model folder', { file: result.finalDir });
  }
  copyBase(result.finalDir, outDir);
  await tokenizer.save(outDir);
  rmSync(trainDir, { recursive: true, force: true });
  return { curve };
}

/**
 * Writes the shipped form of a base folder: half-precision weights (float16 keeps the small base's values to
 * about 3 significant digits, which is what ships), config, tokenizer and the recipe with its fingerprint.
 */
export async function exportShippedBase(
  config: ExperimentConfig,
  baseDir: string,
  outDir: string,
  command: string,
): Promise<void> {
  const { model } = await loadPretrained(baseDir);
  try {
    mkdirSync(outDir, { recursive: true });
    await savePretrained(model, outDir, { dtype: 'F16' });
  } finally {
    model.dispose();
  }
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
    if (existsSync(join(baseDir, f))) cpSync(join(baseDir, f), join(outDir, f));
  }
  // The files are written by their libraries' own serialisers: keep the repository's formatter off them.
  writeJsonAtomic(join(outDir, 'biome.json'), { root: false, files: { includes: ['!**'] } });
  writeJsonAtomic(join(outDir, BASE_RECIPE_NAME), {
    fingerprint: baseFingerprint(config),
    recipe: baseRecipe(config),
    command,
  });
}
