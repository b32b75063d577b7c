// End to end: a tiny two-layer Llama-shaped model, analysed against an FFT-like checkpoint and a PEFT adapter.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyseAdapter, analyseCheckpoints } from '../src/analyse.js';
import { ConfigError } from '../src/errors.js';
import { type Matrix, matmul } from '../src/matrix.js';
import { parsePeftAdapterConfig } from '../src/peft-adapter.js';
import { REPORT_FILES, writeReport } from '../src/report-files.js';
import { memoryWeightSource } from '../src/weight-source.js';
import { uniformMatrix } from './matrix-generators.js';

const d = 16;
const ff = 24;
const shapes: Record<string, [string, number, number]> = {
  q_proj: ['self_attn', d, d],
  k_proj: ['self_attn', d, d],
  v_proj: ['self_attn', d, d],
  o_proj: ['self_attn', d, d],
  gate_proj: ['mlp', ff, d],
  up_proj: ['mlp', ff, d],
  down_proj: ['mlp', d, ff],
};

const base: Record<string, Matrix> = { 'model.embed_tokens.weight': uniformMatrix(50, d, 999) };
const finetuned: Record<string, Matrix> = {};
const adapter: Record<string, Matrix> = {};
let seed = 1;
const r = 2;
const scaling = 4 / r; // lora_alpha = 4
for (let layer = 0; layer < 2; layer++) {
  for (const [module, [block, rows, cols]] of Object.entries(shapes)) {
    const key = `model.layers.${layer}.${block}.${module}.weight`;
    const w = uniformMatrix(rows, cols, seed++);
    base[key] = w;
    // FFT-like: a full-rank small update; LoRA: rank-2 update on q and v.
    const noise = uniformMatrix(rows, cols, seed++);
    finetuned[key] = { rows, cols, data: w.data.map((x, i) => x + 0.05 * noise.data[i]!) };
    if (module === 'q_proj' || module === 'v_proj') {
      const prefix = `base_model.model.model.layers.${layer}.${block}.${module}`;
      adapter[`${prefix}.lora_A.weight`] = uniformMatrix(r, cols, seed++);
      adapter[`${prefix}.lora_B.weight`] = uniformMatrix(rows, r, seed++);
    }
  }
}
const adapterConfig = parsePeftAdapterConfig({ r, lora_alpha: 4, target_modules: ['q_proj', 'v_proj'] });
const out = mkdtempSync(join(tmpdir(), 'loralab-rank-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('analyseCheckpoints', () => {
  it('analyses every layer × module, in order, with full-rank updates and no intruders for small noise', async () => {
    const report = await analyseCheckpoints(memoryWeightSource(base), memoryWeightSource(finetuned), {
      workers: 0,
    });
    expect(report.matrices.map((m) => `${m.layer}.${m.module}`)).toEqual(
      [0, 1].flatMap((l) => Object.keys(shapes).map((m) => `${l}.${m}`)),
    );
    for (const m of report.matrices) {
      expect(m.delta.numerical_rank).toBe(Math.min(m.rows, m.cols));
      expect(m.relative_update_norm).toBeCloseTo(0.05, 1);
      expect(m.intruders!.k).toBe(10);
      expect(m.spectra.delta.length).toBe(Math.min(m.rows, m.cols));
      expect(m.gaussian_baseline!.frobenius_norm).toBeCloseTo(m.delta.frobenius_norm, 10);
      expect(m.noise_baselines.map((x) => x.c)).toEqual([0.01, 0.1]);
    }
  });

  it('honours layers/modules and rejects unknown config keys', async () => {
    const report = await analyseCheckpoints(memoryWeightSource(base), memoryWeightSource(finetuned), {
      config: { layers: [1], modules: ['down_proj'], vectors: false, noise_scales: [] },
      workers: 0,
    });
    expect(report.matrices.map((m) => m.name)).toEqual(['model.layers.1.mlp.down_proj.weight']);
    expect(report.matrices[0]!.intruders).toBeNull();
    await expect(
      analyseCheckpoints(memoryWeightSource(base), memoryWeightSource(finetuned), {
        config: { rank: 3 } as never,
      }),
    ).rejects.toThrow(ConfigError);
  });
});

describe('analyseAdapter', () => {
  it('gives rank(ΔW) ≤ r and the same metrics as the merged checkpoint', async () => {
    const report = await analyseAdapter(
      memoryWeightSource(base),
      memoryWeightSource(adapter),
      adapterConfig,
      {
        config: { vectors: false, noise_scales: [] },
      },
    );
    expect(report.matrices.map((m) => `${m.layer}.${m.module}`)).toEqual([
      '0.q_proj',
      '0.v_proj',
      '1.q_proj',
      '1.v_proj',
    ]);
    // the merged weights W + scaling · B A as an ordinary checkpoint
    const merged: Record<string, Matrix> = {};
    for (const m of report.matrices) {
      const prefix = `base_model.model.${m.name.replace(/\.weight$/, '')}`;
      const ba = matmul(adapter[`${prefix}.lora_B.weight`]!, adapter[`${prefix}.lora_A.weight`]!);
      merged[m.name] = {
        rows: m.rows,
        cols: m.cols,
        data: base[m.name]!.data.map((x, i) => x + scaling * ba.data[i]!),
      };
    }
    const dense = await analyseCheckpoints(memoryWeightSource(base), memoryWeightSource(merged), {
      config: { vectors: false, noise_scales: [] },
      workers: 2,
    });
    for (const [i, m] of report.matrices.entries()) {
      const ref = dense.matrices[i]!;
      expect(m.delta.numerical_rank).toBe(r);
      expect(m.delta.rank_energy).toBeLessThanOrEqual(r);
      expect(m.delta.rank_energy).toBe(ref.delta.rank_energy);
      expect(m.delta.effective_rank).toBeCloseTo(ref.delta.effective_rank, 10);
      expect(m.delta.spectral_norm).toBeCloseTo(ref.delta.spectral_norm, 12);
      expect(m.relative_update_norm).toBeCloseTo(ref.relative_update_norm, 12);
      expect(m.finetuned.frobenius_norm).toBeCloseTo(ref.finetuned.frobenius_norm, 12);
    }
  });

  it('rejects factors that do not match r', async () => {
    const bad = {
      ...adapter,
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': uniformMatrix(3, d, 1),
    };
    await expect(
      analyseAdapter(memoryWeightSource(base), memoryWeightSource(bad), adapterConfig),
    ).rejects.toThrow(/lora_A \[2, 16\]/);
  });
});

describe('writeReport', () => {
  it('writes JSON, CSV and SVG files that agree with the report; workers give the same numbers', async () => {
    const report = await analyseCheckpoints(memoryWeightSource(base), memoryWeightSource(finetuned), {
      workers: 1,
    });
    const inline = await analyseCheckpoints(memoryWeightSource(base), memoryWeightSource(finetuned), {
      workers: 0,
    });
    expect(report).toEqual(inline);
    const paths = writeReport(out, report);
    expect(paths.map((p) => p.slice(out.length + 1))).toEqual([...REPORT_FILES]);
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(json.format).toBe('loralab-rank-report');
    expect(json.matrices.length).toBe(14);
    expect(json.matrices[0].spectra).toBeUndefined();
    expect(json.config.tau).toBe(0.9);
    const spectra = JSON.parse(readFileSync(join(out, 'spectra.json'), 'utf8'));
    expect(spectra.spectra['model.layers.0.mlp.up_proj.weight'].delta.length).toBe(16);
    const csv = readFileSync(join(out, 'report.csv'), 'utf8').trim().split('\n');
    expect(csv.length).toBe(15);
    const header = csv[0]!.split(',');
    const row = csv[1]!.split(',');
    expect(header.length).toBe(row.length);
    expect(row[header.indexOf('delta_rank_energy')]).toBe(String(report.matrices[0]!.delta.rank_energy));
    expect(header).toContain('noise_0.1_rank_energy');
    for (const f of ['rank-by-layer.svg', 'spectra.svg', 'explained-variance.svg']) {
      const svg = readFileSync(join(out, f), 'utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.trim().endsWith('</svg>')).toBe(true);
      expect(svg).not.toMatch(/NaN|Infinity|undefined/);
    }
    const fig6 = readFileSync(join(out, 'rank-by-layer.svg'), 'utf8');
    expect(fig6.match(/<path /g)!.length).toBe(14); // 7 modules + 7 Gaussian baselines
    expect(fig6).toContain('gate_proj');
    expect(readFileSync(join(out, 'explained-variance.svg'), 'utf8')).toContain('90%');
  });
});
