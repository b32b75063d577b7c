// `loralab pretrain`: a Llama-architecture model from random initialisation on a tokenized corpus (full training,
// packed sequences), through @loralab/train. The result is the base model folder that `finetune` starts from.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainConfig } from '@loralab/train';
import { UsageError } from '../errors.js';
import { buildConfig, type CommandSpec, numberFlag, stringFlag } from './command.js';
import { copyTokenizer, readModelConfig, runTraining, TRAIN_OPTIONS, trainFlags } from './train-common.js';

/** A small Llama for this machine's two cores: about 1.3M parameters besides the embeddings. */
export const PRETRAIN_MODEL_DEFAULTS = {
  hidden_size: 128,
  intermediate_size: 344,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 4,
  max_position_embeddings: 512,
  tie_word_embeddings: true,
};

/** Defaults of `loralab pretrain` (before the config file, the flags and --set). */
export const PRETRAIN_DEFAULTS = {
  method: 'full',
  task: 'cpt',
  data: { seqLen: 128, microBatchSize: 8 },
  optimizer: { name: 'adamw', lr: 3e-3, weightDecay: 0.1 },
  schedule: { name: 'cosine', warmupRatio: 0.05, minLrRatio: 0.1 },
  // One epoch unless --steps/--max-tokens/--epochs say otherwise (@loralab/train's rule; see finetune.ts).
  resume: 'auto',
};

export const pretrain: CommandSpec = {
  path: ['pretrain'],
  summary: 'pretrain a Llama-architecture model from random initialisation on tokenized shards',
  usage: '[options] --tokenizer DIR --data DIR --output DIR',
  description: `The model is "model.init" (a Llama config: hidden_size, intermediate_size, num_hidden_layers,
num_attention_heads, ...; vocab_size and the special token ids come from --tokenizer), by default a 4-layer,
128-wide Llama. The run folder follows @loralab/train (config.json, metrics.jsonl, checkpoints/step-N/, final/);
final/ also gets the tokenizer, so it is a complete model folder for eval and finetune. Reruns resume (resume: auto).
The config is @loralab/train's TrainConfig plus "tokenizer". Defaults: AdamW lr 3e-3, weight decay 0.1, cosine with
5% warmup, seq-len 128, batch 8, one epoch.`,
  options: {
    tokenizer: {
      type: 'string',
      short: 't',
      value: 'DIR',
      description: 'tokenizer folder (sets vocab_size and the special ids)',
    },
    'model-config': {
      type: 'string',
      value: 'FILE',
      description: 'Llama config JSON (a config.json) for the initialisation',
    },
    'hidden-size': { type: 'string', value: 'N', description: 'hidden size (default 128)' },
    layers: { type: 'string', value: 'N', description: 'number of layers (default 4)' },
    heads: { type: 'string', value: 'N', description: 'attention heads (default 4)' },
    ...TRAIN_OPTIONS,
  },
  config: true,
  graceful: true,
  positionals: { min: 0, max: 0 },
  examples: [
    'loralab pretrain --tokenizer tok/ --data data/brown --eval-data data/brown-heldout --output runs/base',
    'loralab pretrain -c pretrain.yaml --set optimizer.lr=1e-3 --set model.init.num_hidden_layers=6',
  ],
  async run(ctx) {
    const int = (name: string) => numberFlag(ctx, name, { integer: true, min: 1 });
    const file = stringFlag(ctx, 'model-config');
    const hidden = int('hidden-size');
    const init = {
      ...(file ? readModelConfig(file) : {}),
      ...(hidden !== undefined && {
        hidden_size: hidden,
        intermediate_size: Math.round((hidden * 8) / 3 / 8) * 8,
      }),
      ...(int('layers') !== undefined && { num_hidden_layers: int('layers') }),
      ...(int('heads') !== undefined && {
        num_attention_heads: int('heads'),
        num_key_value_heads: int('heads'),
      }),
    };
    const flags = { ...trainFlags(ctx), tokenizer: stringFlag(ctx, 'tokenizer'), model: { init } };
    const defaults = { ...PRETRAIN_DEFAULTS, model: { init: PRETRAIN_MODEL_DEFAULTS } };
    const { tokenizer: tokenizerDir, ...config } = buildConfig(ctx, {
      defaults,
      flags,
    }) as unknown as TrainConfig & {
      tokenizer?: string;
    };
    if (!tokenizerDir)
      throw new UsageError('missing --tokenizer DIR (or "tokenizer" in the config)', 'pretrain');
    if (!config.outputDir) throw new UsageError('missing --output DIR', 'pretrain');
    if (!config.data?.train) throw new UsageError('missing --data DIR', 'pretrain');
    if (!('init' in config.model))
      throw new UsageError('pretrain starts from "model.init", not a folder', 'pretrain');
    const { Tokenizer } = await import('@loralab/tokenizer');
    const tokenizer = await Tokenizer.fromPretrained(tokenizerDir);
    const special = {
      vocab_size: tokenizer.vocabSize,
      ...(tokenizer.bos && { bos_token_id: tokenizer.bos.id }),
      ...(tokenizer.eos && { eos_token_id: tokenizer.eos.id }),
      ...(tokenizer.pad && { pad_token_id: tokenizer.pad.id }),
    };
    config.model = { ...config.model, init: { ...special, ...config.model.init } };
    const code = await runTraining(ctx, config);
    const finalDir = join(config.outputDir, 'final');
    if (existsSync(finalDir)) copyTokenizer(tokenizerDir, finalDir);
    return code;
  },
};
