// Folder-level entry points: base vs finetuned model folders, or a base folder plus a PEFT adapter folder
// (`adapter_config.json` + `adapter_model.safetensors`). Reading safetensors belongs to @loralab/model, so the
// caller passes an opener that turns a folder into a WeightSource.
import { join } from 'node:path';
import { CheckpointError, readVerifiedFile } from '@loralab/model';
import { type AnalyseOptions, type AnalysisReport, analyseAdapter, analyseCheckpoints } from './analyse.js';
import { DataError } from './errors.js';
import { type PeftAdapterConfig, parsePeftAdapterConfig } from './peft-adapter.js';
import type { WeightSource } from './weight-source.js';

/** Opens the weights of a model or adapter folder (for example @loralab/model's safetensors reader). */
export type WeightSourceOpener = (dir: string) => Promise<WeightSource>;

/** Reads and validates `<dir>/adapter_config.json`. */
export async function readPeftAdapterConfig(dir: string): Promise<PeftAdapterConfig> {
  const file = join(dir, 'adapter_config.json');
  let text: string;
  try {
    text = (await readVerifiedFile(file)).toString('utf8'); // against checksums.json when the folder has one
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new DataError('cannot read the PEFT adapter config (is this an adapter folder?)', {
      file,
      cause: e,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DataError(`not valid JSON: ${(e as Error).message}`, { file, cause: e });
  }
  return parsePeftAdapterConfig(value, file);
}

/** Base vs finetuned model folders (e.g. full finetuning): {@link analyseCheckpoints} over the opened folders. */
export async function analyseModelFolders(
  baseDir: string,
  finetunedDir: string,
  open: WeightSourceOpener,
  options: AnalyseOptions = {},
): Promise<AnalysisReport> {
  return analyseCheckpoints(await open(baseDir), await open(finetunedDir), options);
}

/** A base model folder plus a PEFT LoRA adapter folder: {@link analyseAdapter} with its adapter_config.json. */
export async function analyseAdapterFolder(
  baseDir: string,
  adapterDir: string,
  open: WeightSourceOpener,
  options: AnalyseOptions = {},
): Promise<AnalysisReport> {
  const config = await readPeftAdapterConfig(adapterDir);
  return analyseAdapter(await open(baseDir), await open(adapterDir), config, options);
}
