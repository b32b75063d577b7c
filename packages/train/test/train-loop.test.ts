// The loop's parts on the wasm backend: accumulation normalised by the step's total target tokens, LoRA leaving the
// base bit-identical, instruction data with masked prompts, frozen embeddings, dropout, pluggable evaluators.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADAPTER_CONFIG_NAME, readAdapterConfig } from '@loralab/lora';
import { initBackend, LlamaForCausalLM, readSafetensors, savePretrained } from '@loralab/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Evaluator, type MetricsRecord, type TrainConfig, train } from '../src/index.js';
import { countingDocs, shiftTask, TINY, tmp, writeDataset } from './helpers.js';

let cpt: string;
let ift: string;
let base: string;

beforeAll(async () => {
  await initBackend('wasm');
  cpt = await writeDataset(await tmp(), countingDocs(80, 21));
  // Prompts of 2..8 tokens: micro-batches hold different numbers of target tokens.
  const rows: number[][] = [];
  const masks: number[][] = [];
  for (let k = 2; k <= 8; k++) {
    const t = shiftTask(6, k, k);
    rows.push(...t.rows);
    masks.push(...t.masks);
  }
  ift = await writeDataset(await tmp(), rows, masks);
  base = await tmp();
  const m = new LlamaForCausalLM(TINY, { seed: 4 });
  await savePretrained(m, base);
  m.dispose();
  writeFileSync(join(base, 'tokenizer.json'), '{"version": "1.0"}\n');
});

function config(over: Partial<TrainConfig>): TrainConfig {
  return {
    outputDir: '',
    method: 'full',
    task: 'cpt',
    model: { path: base },
    data: { train: cpt, seqLen: 16, microBatchSize: 4 },
    steps: 4,
    optimizer: { name: 'adamw', lr: 1e-2 },
    schedule: { name: 'constant' },
    logEvery: 1,
    backend: 'wasm',
    ...over,
  };
}

async function run(c: Partial<TrainConfig>, evaluators: Evaluator[] = []) {
  const logs: MetricsRecord[] = [];
  const result = await train(config({ outputDir: await tmp(), ...c }), {
    progress: false,
    evaluators,
    onLog: (m) => logs.push(m),
  });
  return { result, logs, train: logs.filter((l) => l.loss !== undefined) };
}

describe('gradient accumulation', () => {
  it('k micro-batches of n rows give the loss, gradient norm and updates of one batch of k·n rows (ift: unequal token counts)', {
    timeout: 60_000,
  }, async () => {
    const common = {
      task: 'ift' as const,
      clipGradNorm: null,
      steps: 3,
      data: { train: ift, seqLen: 20, microBatchSize: 2 },
    };
    const big = await run({ ...common, data: { ...common.data, microBatchSize: 8 } });
    const acc = await run({ ...common, gradAccumulation: 4 });
    expect(acc.train.length).toBe(3);
    for (let i = 0; i < 3; i++) {
      expect(acc.train[i]!.tokens).toBe(big.train[i]!.tokens);
      expect(acc.train[i]!.loss).toBeCloseTo(big.train[i]!.loss!, 5);
      expect(acc.train[i]!.grad_norm! / big.train[i]!.grad_norm!).toBeCloseTo(1, 5);
    }
  });
});

describe('LoRA', () => {
  it('trains only the adapter and modules_to_save: every base weight stays bit-identical', {
    timeout: 60_000,
  }, async () => {
    const { tensors: original } = await readSafetensors(join(base, 'model.safetensors'));
    let checked = 0;
    const baseCheck: Evaluator = {
      name: 'base',
      async run({ model }) {
        for (const [name, p] of model.parameters()) {
          expect(
            Buffer.from(((await p.variable.data()) as Float32Array).buffer).equals(
              Buffer.from(original.get(name)!.data.buffer),
            ),
            name,
          ).toBe(true);
          checked++;
        }
        return { checked };
      },
    };
    const { result, logs } = await run(
      {
        method: 'lora',
        lora: { r: 4, lora_alpha: 8, target_modules: 'all-linear', modules_to_save: ['lm_head'] },
        optimizer: { name: 'adamw', lr: 1e-2, weightDecay: 0.1 },
        steps: 5,
        evalEvery: 2,
      },
      [baseCheck],
    );
    expect(checked).toBe(3 * original.size); // at steps 2, 4 and the end
    expect(logs.filter((l) => l['eval/base/checked'] !== undefined).map((l) => l.step)).toEqual([2, 4, 5]);
    // The final folder is a PEFT adapter naming its base; the adapter moved away from its zero-B start.
    expect(existsSync(join(result.finalDir, ADAPTER_CONFIG_NAME))).toBe(true);
    const cfg = await readAdapterConfig(result.finalDir);
    expect(cfg.base_model_name_or_path).toBe(base);
    expect(cfg.r).toBe(4);
    const { tensors } = await readSafetensors(join(result.finalDir, 'adapter_model.safetensors'));
    const b = tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight')!;
    expect(Math.max(...b.data.map(Math.abs))).toBeGreaterThan(0);
    const head = tensors.get('base_model.model.lm_head.weight')!;
    expect(
      Buffer.from(head.data.buffer).equals(Buffer.from(original.get('lm_head.weight')!.data.buffer)),
    ).toBe(false);
    expect(existsSync(join(result.finalDir, 'model.safetensors'))).toBe(false);
  });
});

describe('LoRA variants', () => {
  it('DoRA with rsLoRA trains through the same loop and saves its magnitude vectors', {
    timeout: 60_000,
  }, async () => {
    const { result, train: steps } = await run({
      method: 'lora',
      lora: { r: 4, lora_alpha: 8, use_dora: true, use_rslora: true, target_modules: ['q_proj', 'v_proj'] },
      steps: 6,
    });
    expect(steps.at(-1)!.loss!).toBeLessThan(steps[0]!.loss!);
    const { tensors } = await readSafetensors(join(result.finalDir, 'adapter_model.safetensors'));
    expect(tensors.has('base_model.model.model.layers.1.self_attn.v_proj.lora_magnitude_vector')).toBe(true);
    expect((await readAdapterConfig(result.finalDir)).use_dora).toBe(true);
  });
});

describe('full finetuning options', () => {
  it('freezeEmbeddings / freezeLmHead keep those weights; the final folder carries the base tokenizer files', {
    timeout: 60_000,
  }, async () => {
    const { result } = await run({ freezeEmbeddings: true });
    const { tensors: before } = await readSafetensors(join(base, 'model.safetensors'));
    const { tensors: after } = await readSafetensors(join(result.finalDir, 'model.safetensors'));
    const key = 'model.embed_tokens.weight';
    expect(Buffer.from(after.get(key)!.data.buffer).equals(Buffer.from(before.get(key)!.data.buffer))).toBe(
      true,
    );
    expect(after.get('lm_head.weight')!.data).not.toEqual(before.get('lm_head.weight')!.data);
    expect(readFileSync(join(result.finalDir, 'tokenizer.json'), 'utf8')).toContain('1.0');
    const head = await run({ freezeLmHead: true, steps: 2 });
    const { tensors: h } = await readSafetensors(join(head.result.finalDir, 'model.safetensors'));
    const lm = 'lm_head.weight';
    expect(Buffer.from(h.get(lm)!.data.buffer).equals(Buffer.from(before.get(lm)!.data.buffer))).toBe(true);
    expect(h.get(key)!.data).not.toEqual(before.get(key)!.data);
  });

  it('dropout changes the trajectory deterministically and is saved in the model config', {
    timeout: 60_000,
  }, async () => {
    const plain = await run({ steps: 2 });
    const d1 = await run({ steps: 2, dropout: { attention: 0.2, residual: 0.2 } });
    const d2 = await run({ steps: 2, dropout: { attention: 0.2, residual: 0.2 } });
    expect(d1.train.map((l) => l.loss)).toEqual(d2.train.map((l) => l.loss));
    expect(d1.train[0]!.loss).not.toBe(plain.train[0]!.loss);
    const saved = JSON.parse(readFileSync(join(d1.result.finalDir, 'config.json'), 'utf8'));
    expect([saved.attention_dropout, saved.residual_dropout]).toEqual([0.2, 0.2]);
  });
});

describe('instruction finetuning', () => {
  it('trains on the response tokens only and reports the held-out loss', { timeout: 60_000 }, async () => {
    const { result, logs } = await run({
      task: 'ift',
      data: { train: ift, eval: ift, seqLen: 20, microBatchSize: 4 },
      evalBatches: 2,
    });
    const evals = logs.filter((l) => l['eval/loss'] !== undefined);
    expect(evals.length).toBe(1);
    // 2 eval batches of 4 rows (in order); a row's targets are its response (k tokens) and EOS: the first 6 rows
    // have k = 2, the next 2 have k = 3.
    expect(evals[0]!['eval/tokens']).toBe(6 * 3 + 2 * 4);
    expect(result.finalEvalLoss).toBe(evals[0]!['eval/loss']);
    // tokens seen: real (non-padding) tokens, prompt included
    expect(logs[0]!.tokens).toBeGreaterThan(0);
  });
});

describe('stopping', () => {
  it('stops at maxTokens or at the end of the epochs, whichever comes first', {
    timeout: 60_000,
  }, async () => {
    const byTokens = await run({ steps: null, maxTokens: 200 });
    expect(byTokens.result.steps).toBe(4); // 64 tokens a step: 4 steps pass 200
    expect(byTokens.result.tokensSeen).toBe(256);
    const byEpoch = await run({ steps: null, epochs: 1, logEvery: 100 });
    // 80 documents of 26 tokens = 2080 tokens = 122 sequences of 17: 31 micro-batches of 4, the last of 2
    expect(byEpoch.result.steps).toBe(31);
    expect(byEpoch.result.tokensSeen).toBe(122 * 16);
  });
});
