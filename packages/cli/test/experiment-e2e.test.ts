// End to end: the `--quick` preset on the shipped base, then a rerun of the same folder that skips every phase;
// and the from-scratch path (tokenizer training and pretraining) at a toy size.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  planUnits,
  QUICK_EXPERIMENT,
  resolveExperimentConfig,
  runExperiment,
  shippedBaseFor,
} from '../src/experiment/index.js';
import type { ExperimentResults } from '../src/experiment/results.js';

describe('runExperiment', () => {
  it('runs the quick preset end to end and resumes without redoing anything', {
    timeout: 600_000,
  }, async () => {
    expect('dir' in shippedBaseFor(QUICK_EXPERIMENT)).toBe(true); // the quick preset must not pretrain
    const outputDir = mkdtempSync(join(tmpdir(), 'loralab-quick-'));
    const lines: string[] = [];
    const reporter = { log: (l: string) => lines.push(l), progress() {} };
    const first = await runExperiment(QUICK_EXPERIMENT, { outputDir, reporter });
    for (const f of ['report.html', 'report.md', 'results.json', 'config.json'])
      expect(existsSync(join(outputDir, f))).toBe(true);
    const results = JSON.parse(readFileSync(join(outputDir, 'results.json'), 'utf8')) as ExperimentResults;
    expect(results.base.origin).toBe('shipped');
    const plan = planUnits(QUICK_EXPERIMENT);
    expect(results.units.map((u) => u.unit.id)).toEqual(plan.map((u) => u.id));
    expect(new Set(results.units.map((u) => `${u.unit.arm.task}-${u.unit.arm.domain}`))).toEqual(
      new Set(['ift-math', 'cpt-code']),
    );
    for (const u of results.units) {
      expect(u.backend).toBe(results.environment.backend);
      expect(u.steps).toBe(u.unit.steps);
      expect(u.evals[0]!.step).toBe(0);
      const last = u.evals[u.evals.length - 1]!;
      expect(last.step).toBe(u.steps);
      for (const k of ['target_loss', 'val_loss', 'target_score', 'source_bpb', 'source_mc_acc', 'diversity'])
        expect(Number.isFinite(last.metrics[k]), k).toBe(true);
      // every evaluation point carries per-item values for the frontier's item noise
      for (const e of u.evals) expect(e.items?.target_loss?.length).toBeGreaterThan(0);
      expect(u.rank!.matrices.length).toBe(7 * QUICK_EXPERIMENT.model.num_hidden_layers);
      if (u.unit.arm.method === 'lora')
        for (const m of u.rank!.matrices) expect(m.rank).toBeLessThanOrEqual(u.unit.arm.r!);
    }
    // Units that ran generated code record the sandbox's isolation; the results and the report name it.
    for (const u of results.units) {
      if (u.unit.arm.domain === 'code') expect(u.sandbox).toMatch(/^(namespaces|rlimits); processes: /);
      else expect(u.sandbox).toBeNull();
    }
    // Every chosen unit and the base of each condition log their generated responses, scored as the metric was.
    for (const u of results.units) {
      const lines = readFileSync(join(outputDir, 'samples', `${u.unit.id}.jsonl`), 'utf8')
        .trim()
        .split('\n');
      const samples = lines.map((l) => JSON.parse(l) as { metric: string; correct?: boolean });
      const scored = samples.filter(
        (s) => s.metric === (u.unit.arm.domain === 'code' ? 'pass@1' : 'exact_match'),
      );
      const last = u.evals[u.evals.length - 1]!;
      expect(scored.filter((s) => s.correct).length / scored.length).toBeCloseTo(
        last.metrics.target_score!,
        10,
      );
    }
    for (const c of ['ift-math', 'cpt-code'])
      expect(existsSync(join(outputDir, 'samples', `base--${c}.jsonl`))).toBe(true);
    expect(results.environment.sandbox).toHaveLength(1);
    expect(readFileSync(join(outputDir, 'report.md'), 'utf8')).toContain(results.environment.sandbox[0]);
    expect(first.skipped).toEqual([]);
    expect(readFileSync(first.report.html, 'utf8')).toContain('<svg');

    const again = await runExperiment(QUICK_EXPERIMENT, { outputDir, reporter });
    expect(again.skipped).toEqual(['tokenizer', 'datasets', 'base', ...plan.map((u) => `unit:${u.id}`)]);
    expect(again.results.units.map((u) => u.evals)).toEqual(results.units.map((u) => u.evals));
    // Another config into the same folder is refused before anything runs.
    await expect(runExperiment({ ...QUICK_EXPERIMENT, seed: 1 }, { outputDir, reporter })).rejects.toThrow(
      /holds a run of another config/,
    );
  });

  it('trains its own tokenizer and base without the shipped one', { timeout: 180_000 }, async () => {
    const config = resolveExperimentConfig(
      {
        shippedBase: false,
        tokenizer: { vocabSize: 400, docsPerCorpus: 50 },
        model: {
          hidden_size: 16,
          intermediate_size: 32,
          num_hidden_layers: 1,
          num_attention_heads: 2,
          num_key_value_heads: 2,
          max_position_embeddings: 64,
        },
        data: {
          mathTrain: { kind: 'math', split: 'train', count: 64 },
          codeTrain: { kind: 'code-corpus', count: 32 },
          codeInstruct: { kind: 'code', split: 'train', count: 8 },
          mathText: { kind: 'math', split: 'train', count: 16, seed: 1 },
        },
        pretrain: { steps: 2, seqLen: 32, microBatchSize: 2 },
        finetune: { seqLen: 64, microBatchSize: 2, iftSteps: 2, evalPoints: 1 },
        arms: [
          { name: 'full', task: 'ift', method: 'full' },
          { name: 'lora', task: 'ift', method: 'lora', r: 2 },
        ],
        eval: {
          mathProblems: 2,
          targetLossItems: 4,
          mathMaxNewTokens: 4,
          sourceDocs: 2,
          sourceDocChars: 200,
          choiceItems: 4,
          diversityPrompts: 1,
          diversitySamples: 2,
        },
      },
      'quick',
    );
    const outputDir = mkdtempSync(join(tmpdir(), 'loralab-scratch-'));
    const r = await runExperiment(config, { outputDir });
    // Deterministic for a seed: a second folder gets the same numbers.
    const twin = await runExperiment(config, { outputDir: mkdtempSync(join(tmpdir(), 'loralab-scratch-')) });
    expect(twin.results.units.map((a) => [a.evals, a.curve])).toEqual(
      r.results.units.map((a) => [a.evals, a.curve]),
    );
    expect(twin.results.base.metrics).toEqual(r.results.base.metrics);
    expect(r.results.base.origin).toBe('pretrained');
    expect(r.results.base.curve.length).toBeGreaterThan(0);
    expect(existsSync(join(outputDir, 'tokenizer', 'tokenizer.json'))).toBe(true);
    expect((r.results.base.modelConfig as { vocab_size: number }).vocab_size).toBeLessThanOrEqual(400);
    expect(r.results.units).toHaveLength(2);
  });
});
