// What the `eval` commands share: the model flags, loading a model folder with an optional LoRA adapter and its
// tokenizer, and writing scores.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LlamaForCausalLM } from '@loralab/model';
import type { Tokenizer } from '@loralab/tokenizer';
import type { KeyTemplate } from '../config-file.js';
import { UsageError } from '../errors.js';
import { BACKEND_OPTION, type CommandContext, type OptionSpec } from './command.js';

export const MODEL_OPTIONS: Record<string, OptionSpec> = {
  model: {
    type: 'string',
    short: 'm',
    value: 'DIR',
    description: 'model folder (config.json + model.safetensors)',
  },
  adapter: {
    type: 'string',
    short: 'a',
    value: 'DIR',
    description: 'PEFT LoRA adapter folder, merged into the model',
  },
  tokenizer: {
    type: 'string',
    short: 't',
    value: 'DIR',
    description: 'tokenizer folder (default: the model folder)',
  },
  backend: BACKEND_OPTION,
  'batch-size': { type: 'string', value: 'N', description: 'requests per forward batch' },
  limit: { type: 'string', value: 'N', description: 'evaluate only the first N items' },
  output: {
    type: 'string',
    short: 'o',
    value: 'DIR',
    description: 'write scores (and samples) into this folder',
  },
};

/** The generating tasks' flags (gsm8k, humaneval). */
export const GENERATION_OPTIONS: Record<string, OptionSpec> = {
  'token-healing': {
    type: 'boolean',
    description: "heal each prompt's last token: the first new token must extend its text (default off)",
  },
};

/** The generator's options from a generating task's config (`batchSize`, `tokenHealing`). */
export function generatorOptions(
  c: { batchSize?: number; tokenHealing?: unknown },
  command: string,
): { batchSize?: number; tokenHealing?: boolean } {
  if (c.tokenHealing !== undefined && typeof c.tokenHealing !== 'boolean')
    throw new UsageError(
      `tokenHealing must be true or false, got ${JSON.stringify(c.tokenHealing)}`,
      command,
    );
  return { ...(c.batchSize && { batchSize: c.batchSize }), ...(c.tokenHealing && { tokenHealing: true }) };
}

/** Config keys of the model part, shared by every eval task's template. */
export const MODEL_TEMPLATE_KEYS = {
  model: null,
  adapter: null,
  tokenizer: null,
  backend: null,
  batchSize: null,
  limit: null,
  output: null,
} satisfies Record<string, KeyTemplate>;

export interface ModelSettings {
  model?: string;
  adapter?: string;
  tokenizer?: string;
  backend?: string;
  batchSize?: number;
  limit?: number;
  output?: string;
}

/** The model flags as config keys (undefined when not given). */
export function modelFlags(ctx: CommandContext, num: (name: string) => number | undefined): ModelSettings {
  const s = (name: string) => {
    const v = ctx.values[name];
    return typeof v === 'string' ? v : undefined;
  };
  return {
    model: s('model'),
    adapter: s('adapter'),
    tokenizer: s('tokenizer'),
    backend: s('backend'),
    batchSize: num('batch-size'),
    limit: num('limit'),
    output: s('output'),
  };
}

export interface LoadedModel {
  model: LlamaForCausalLM;
  tokenizer: Tokenizer;
  backend: string;
  dispose(): void;
}

/**
 * Starts the tensor backend and loads `model` (a Hugging Face folder), merging `adapter` (a PEFT folder) into it,
 * with the tokenizer of `tokenizer` or the model folder.
 */
export async function loadModel(ctx: CommandContext, s: ModelSettings): Promise<LoadedModel> {
  const name = ctx.command.path.join(' ');
  if (!s.model) throw new UsageError('missing --model DIR', name);
  const tokenizerDir = s.tokenizer ?? s.model;
  if (!existsSync(join(tokenizerDir, 'tokenizer.json'))) {
    throw new UsageError(`no tokenizer.json in ${tokenizerDir}; pass --tokenizer DIR`, name);
  }
  for (const [dir, file, what] of [
    [s.model, 'config.json', 'a model folder (config.json + model.safetensors)'],
    ...(s.adapter
      ? [
          [
            s.adapter,
            'adapter_config.json',
            'a PEFT adapter folder (adapter_config.json + adapter_model.safetensors)',
          ],
        ]
      : []),
  ] as const) {
    if (!existsSync(join(dir, file))) {
      const { DataError } = await import('@loralab/data');
      throw new DataError(`no ${file}: expected ${what}`, { file: dir });
    }
  }
  const { initBackend, loadPretrained } = await import('@loralab/model');
  const { Tokenizer } = await import('@loralab/tokenizer');
  const backend = await initBackend((s.backend ?? undefined) as Parameters<typeof initBackend>[0]);
  const { model } = await loadPretrained(s.model);
  let merged = model;
  if (s.adapter) {
    const { loadAdapter } = await import('@loralab/lora');
    const lora = await loadAdapter(model, s.adapter);
    merged = lora.mergeAndUnload();
  }
  const tokenizer = await Tokenizer.fromPretrained(tokenizerDir);
  ctx.reporter.log(
    `model ${s.model}${s.adapter ? ` + adapter ${s.adapter}` : ''} on ${backend.name} (${merged.config.num_hidden_layers} layers, hidden ${merged.config.hidden_size}, vocab ${merged.config.vocab_size})`,
  );
  return { model: merged, tokenizer, backend: backend.name, dispose: () => merged.dispose() };
}

/** Writes `value` as `<output>/<name>` (pretty JSON, atomically) when an output folder is set; returns the path. */
export async function writeScores(
  output: string | undefined,
  name: string,
  value: unknown,
): Promise<string | null> {
  if (!output) return null;
  mkdirSync(output, { recursive: true });
  const { writeFileAtomic } = await import('@loralab/data');
  const file = join(output, name);
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
  return file;
}

/** `pass@1 0.3333  pass@10 0.8` style line of named numbers. */
export function scoreLine(scores: Record<string, number>, digits = 4): string {
  return Object.entries(scores)
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(digits)}`)
    .join('  ');
}
