// Versions of the packages a run depends on, saved into the run's config.json.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const PACKAGES = [
  '@loralab/train',
  '@loralab/model',
  '@loralab/lora',
  '@loralab/data',
  '@loralab/kernels',
  '@tensorflow/tfjs-core',
] as const;

/** `{ name: version }` of the loralab packages and tfjs-core in use, plus `node`. */
export function packageVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PACKAGES) {
    try {
      out[name] = (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      out[name] = 'unknown';
    }
  }
  out.node = process.versions.node;
  return out;
}
