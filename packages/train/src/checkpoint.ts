// Checkpoints of a run: `checkpoints/step-N/` holds the model (a Hugging Face folder) or the adapter (a PEFT folder),
// `optimizer.safetensors` (the moments under `<param>.exp_avg[_sq]`) and `trainer_state.json` (step, tokens,
// optimizer/scheduler/rng/loader state). A checkpoint is written into a temporary folder that is renamed into place
// only when complete, so a crash leaves the previous checkpoints intact; only the last K are kept. Every file is
// recorded in the folder's `checksums.json` (sha256; see @loralab/model) and verified when a run resumes.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoaderState } from '@loralab/data';
import { fsyncDir } from '@loralab/data';
import {
  CHECKSUMS_NAME,
  checksumOf,
  IntegrityError,
  readChecksums,
  readSafetensors,
  readVerifiedFile,
  recordChecksums,
  type TensorToWrite,
  verifyFileChecksum,
  writeFileAtomic,
  writeSafetensors,
} from '@loralab/model';
import { CheckpointError } from './errors.js';
import type { ResolvedSchedule } from './schedule.js';

export const TRAINER_STATE_NAME = 'trainer_state.json';
export const OPTIMIZER_STATE_NAME = 'optimizer.safetensors';
export const CHECKPOINTS_DIR = 'checkpoints';

/** `trainer_state.json`: everything besides the tensors that a resume needs. */
export interface TrainerState {
  version: 1;
  /** Optimizer steps completed. */
  step: number;
  /** Real (non-padding) tokens seen. */
  tokensSeen: number;
  /** Target tokens trained on. */
  targetTokens: number;
  method: 'full' | 'lora';
  task: 'cpt' | 'ift';
  optimizer: { name: 'adamw' | 'lion'; implementation: 'native' | 'tfjs'; steps: number };
  scheduler: ResolvedSchedule & { lastLr: number };
  /** Dropout masks are seeded by (seed, step, micro-batch), so the seed and the step are the whole generator state. */
  rng: { seed: number; nextStep: number };
  /** The data loader's position after the last micro-batch of `step`. */
  loader: LoaderState;
  /** Loss of the last step and the last held-out loss. */
  lastLoss: number;
  lastEvalLoss: number | null;
  /** Step of the last evaluation (-1: none yet). */
  evaluatedAt: number;
}

const STEP_DIR = /^step-(\d+)$/;

/** Checkpoint folders of a run, oldest first, as [step, path]. */
export async function listCheckpoints(outputDir: string): Promise<[number, string][]> {
  const root = join(outputDir, CHECKPOINTS_DIR);
  if (!existsSync(root)) return [];
  const out: [number, string][] = [];
  for (const name of await readdir(root)) {
    const m = STEP_DIR.exec(name);
    if (m && existsSync(join(root, name, TRAINER_STATE_NAME))) out.push([Number(m[1]), join(root, name)]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/** The newest complete checkpoint of a run, or null. */
export async function latestCheckpoint(outputDir: string): Promise<string | null> {
  return (await listCheckpoints(outputDir)).at(-1)?.[1] ?? null;
}

/**
 * Reads and checks `trainer_state.json` of a checkpoint folder: against `checksums.json` when the folder has one
 * (every file a resume reads must then be recorded), else (a checkpoint of an older loralab) unverified.
 */
export async function readTrainerState(dir: string): Promise<TrainerState> {
  const path = join(dir, TRAINER_STATE_NAME);
  let state: TrainerState;
  try {
    state = JSON.parse((await readVerifiedFile(path)).toString('utf8')) as TrainerState;
  } catch (cause) {
    if (cause instanceof CheckpointError) throw cause;
    throw new CheckpointError(
      `cannot read ${path}: ${(cause as Error).message} (not a checkpoint folder of @loralab/train?)`,
      path,
      undefined,
      { cause },
    );
  }
  if (state?.version !== 1 || !Number.isInteger(state.step))
    throw new CheckpointError(`${path}: expected version 1 with an integer step`, path);
  await verifyCheckpointRecord(dir, state.method);
  return state;
}

/**
 * A checkpoint's `checksums.json` must list every file a resume reads (a record that lost an entry is corrupt); the
 * small recorded files that a resume does not read (`config.json`, `adapter_config.json`) are verified here, the
 * tensors as they are read.
 */
async function verifyCheckpointRecord(dir: string, method: TrainerState['method']): Promise<void> {
  const record = await readChecksums(dir);
  if (!record) return;
  const weights = method === 'lora' ? ['adapter_model.safetensors', 'adapter_config.json'] : ['config.json'];
  if (method === 'full')
    weights.push(
      existsSync(join(dir, 'model.safetensors')) ? 'model.safetensors' : 'model.safetensors.index.json',
    );
  for (const name of [...weights, OPTIMIZER_STATE_NAME, TRAINER_STATE_NAME]) {
    if (!record.files[name])
      throw new IntegrityError(
        `${join(dir, CHECKSUMS_NAME)} does not list ${name}, which a resume reads: the record is corrupt or the folder was altered. Resume from an earlier checkpoint`,
        join(dir, name),
        undefined,
        name,
        'no entry',
      );
  }
  for (const [name, rec] of Object.entries(record.files)) {
    if (rec.header_sha256 === undefined && name !== TRAINER_STATE_NAME)
      await verifyFileChecksum(join(dir, name));
  }
}

/** Writes the optimizer moments (always float32) and records the file in the folder's `checksums.json`. */
export async function writeOptimizerState(dir: string, moments: Map<string, TensorToWrite>): Promise<void> {
  const rec = await writeSafetensors(
    join(dir, OPTIMIZER_STATE_NAME),
    moments,
    { format: 'pt' },
    { dtype: 'F32' },
  );
  await recordChecksums(dir, { [OPTIMIZER_STATE_NAME]: rec });
}

/** Reads the optimizer moments of a checkpoint, verified against their sha256 records. */
export async function readOptimizerState(
  dir: string,
): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  return (await readSafetensors(join(dir, OPTIMIZER_STATE_NAME))).tensors;
}

/** Writes `trainer_state.json` and records it in the folder's `checksums.json`. */
export async function writeTrainerState(dir: string, state: TrainerState): Promise<void> {
  const text = `${JSON.stringify(state, null, 2)}\n`;
  await writeFileAtomic(join(dir, TRAINER_STATE_NAME), text);
  await recordChecksums(dir, { [TRAINER_STATE_NAME]: checksumOf(text) });
}

/**
 * Writes a folder atomically: `fill(tmp)` writes into `<parent>/.tmp-<name>-<pid>`, which is then renamed to
 * `<parent>/<name>` (an existing folder of that name is replaced).
 */
export async function writeDirAtomic(
  parent: string,
  name: string,
  fill: (dir: string) => Promise<void>,
): Promise<string> {
  await mkdir(parent, { recursive: true });
  const tmp = join(parent, `.tmp-${name}-${process.pid}`);
  const target = join(parent, name);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  try {
    await fill(tmp);
    fsyncDir(tmp);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  if (existsSync(target)) {
    const old = join(parent, `.old-${name}-${process.pid}`);
    await rename(target, old);
    await rename(tmp, target);
    await rm(old, { recursive: true, force: true });
  } else {
    await rename(tmp, target);
  }
  fsyncDir(parent);
  return target;
}

/** Writes `checkpoints/step-<step>` atomically and removes all but the newest `keepLast` checkpoints. */
export async function writeCheckpoint(
  outputDir: string,
  step: number,
  keepLast: number,
  fill: (dir: string) => Promise<void>,
): Promise<string> {
  const dir = await writeDirAtomic(join(outputDir, CHECKPOINTS_DIR), `step-${step}`, fill);
  const all = await listCheckpoints(outputDir);
  for (const [, path] of all.slice(0, Math.max(0, all.length - keepLast))) {
    if (path !== dir) await rm(path, { recursive: true, force: true });
  }
  return dir;
}
