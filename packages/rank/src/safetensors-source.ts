// A WeightSource over a folder of safetensors files, read through @loralab/model: a Hugging Face model folder
// (`model.safetensors`, or shards listed in `model.safetensors.index.json`) or a PEFT adapter folder
// (`adapter_model.safetensors`). Tensors are read one at a time (F16/BF16 widened to F32); no file stays open.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkpointFiles, openSafetensors } from '@loralab/model';
import { DataError } from './errors.js';
import type { Matrix } from './matrix.js';
import type { WeightSource } from './weight-source.js';

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** Opens `dir` as a WeightSource; pass it as the opener of `analyseModelFolders` / `analyseAdapterFolder`. */
export async function openSafetensorsFolder(dir: string): Promise<WeightSource> {
  const adapter = join(dir, 'adapter_model.safetensors');
  const files = (await isFile(adapter)) ? [adapter] : [...(await checkpointFiles(dir)).keys()];
  const fileOf = new Map<string, string>();
  for (const file of files) {
    const f = await openSafetensors(file);
    for (const name of f.entries.keys()) fileOf.set(name, file);
    await f.close();
  }
  return {
    names: async () => [...fileOf.keys()],
    matrix: async (name): Promise<Matrix> => {
      const file = fileOf.get(name);
      if (!file) throw new DataError(`no tensor named "${name}" in ${dir}`, { file: dir });
      const f = await openSafetensors(file);
      try {
        const t = await f.read(name);
        if (t.shape.length !== 2) {
          throw new DataError(`tensor "${name}" has shape [${t.shape.join(', ')}], expected a matrix`, {
            file,
          });
        }
        return { rows: t.shape[0]!, cols: t.shape[1]!, data: t.data };
      } finally {
        await f.close();
      }
    },
  };
}
