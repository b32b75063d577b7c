// `loralab rank`: the spectrum of the finetuning update ΔW per layer and module (@loralab/rank): rank@90,
// effective and stable rank, random baselines, intruder dimensions; JSON, CSV and SVG reports.
import type { AnalysisConfig } from '@loralab/rank';
import { ANY_KEYS, type KeyTemplate } from '../config-file.js';
import { UsageError } from '../errors.js';
import { formatDuration } from '../progress.js';
import { booleanFlag, buildConfig, type CommandSpec, listFlag, numberFlag, stringFlag } from './command.js';

interface RankConfig {
  base?: string;
  finetuned?: string;
  adapter?: string;
  output?: string;
  workers?: number;
  analysis?: Partial<AnalysisConfig>;
}

const TEMPLATE: KeyTemplate = {
  base: null,
  finetuned: null,
  adapter: null,
  output: null,
  workers: null,
  analysis: ANY_KEYS, // checked by @loralab/rank's resolveAnalysisConfig
};

export const rank: CommandSpec = {
  path: ['rank'],
  summary:
    'spectra of ΔW per layer and module (rank@90, effective rank, intruders), base vs finetuned or adapter',
  usage: '[options] --base DIR (--finetuned DIR | --adapter DIR) [--output DIR]',
  description: `ΔW = W_finetuned - W_base for a full finetune, or scaling·B·A for a PEFT LoRA adapter (exact SVD from
the factors). --output DIR writes report.json, spectra.json, report.csv, rank-by-layer.svg, spectra.svg and
explained-variance.svg. Config key "analysis" holds @loralab/rank's AnalysisConfig (tau, modules, layers,
gaussian_baseline, noise_scales, vectors, intruder_k, intruder_epsilon, seed). The SVDs run through LAPACK (dgesdd, in
the native addon of @loralab/kernels) where it is built, two matrices at once, else on @loralab/rank's WebAssembly SVD;
LORALAB_RANK_SVD=wasm forces the latter.`,
  options: {
    base: { type: 'string', short: 'b', value: 'DIR', description: 'the base model folder' },
    finetuned: { type: 'string', short: 'f', value: 'DIR', description: 'a fully finetuned model folder' },
    adapter: { type: 'string', short: 'a', value: 'DIR', description: 'a PEFT LoRA adapter folder' },
    output: { type: 'string', short: 'o', value: 'DIR', description: 'folder for the report files' },
    tau: { type: 'string', value: 'T', description: 'energy threshold of rank@tau (default 0.9)' },
    modules: {
      type: 'string',
      value: 'M,..',
      description: 'modules to analyse (default q,k,v,o,gate,up,down _proj)',
    },
    layers: { type: 'string', value: 'L,..', description: 'layer indices (default all)' },
    'no-vectors': {
      type: 'boolean',
      description: 'singular values only: no intruders or subspace similarity (faster)',
    },
    workers: {
      type: 'string',
      value: 'N',
      description: 'worker threads for the WebAssembly SVD (default 0: this thread; unused with LAPACK)',
    },
  },
  config: true,
  positionals: { min: 0, max: 0 },
  examples: [
    'loralab rank --base runs/base --finetuned runs/fft/final --output runs/fft/rank',
    'loralab rank --base runs/base --adapter runs/lora-r16/final --modules q_proj,v_proj',
  ],
  async run(ctx) {
    const layers = listFlag(ctx, 'layers')?.map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0)
        throw new UsageError(`--layers expects layer indices, found "${s}"`, 'rank');
      return n;
    });
    const analysis: Partial<AnalysisConfig> = {
      ...(numberFlag(ctx, 'tau') !== undefined && { tau: numberFlag(ctx, 'tau')! }),
      ...(listFlag(ctx, 'modules') && { modules: listFlag(ctx, 'modules')! }),
      ...(layers && { layers }),
      ...(booleanFlag(ctx, 'no-vectors') && { vectors: false }),
    };
    const flags: RankConfig = {
      base: stringFlag(ctx, 'base'),
      finetuned: stringFlag(ctx, 'finetuned'),
      adapter: stringFlag(ctx, 'adapter'),
      output: stringFlag(ctx, 'output'),
      workers: numberFlag(ctx, 'workers', { integer: true, min: 0 }),
      analysis: Object.keys(analysis).length ? analysis : undefined,
    };
    const c = buildConfig(ctx, { flags: flags as Record<string, unknown>, template: TEMPLATE }) as RankConfig;
    if (!c.base) throw new UsageError('missing --base DIR', 'rank');
    if (!c.finetuned === !c.adapter)
      throw new UsageError('give exactly one of --finetuned DIR and --adapter DIR', 'rank');
    const r = await import('@loralab/rank');
    const config = r.resolveAnalysisConfig(c.analysis ?? {});
    const t0 = performance.now();
    // LAPACK through the native addon when built (null otherwise: rank's own SVD runs)
    const lapack = (await import('@loralab/kernels')).createLapackSvd();
    const options = {
      config,
      svd: lapack,
      workers: c.workers ?? 0,
      onMatrix: (_m: unknown, done: number, total: number) =>
        ctx.reporter.progress('analysing matrices', done, total),
    };
    ctx.reporter.progress('analysing matrices', 0, null);
    let report: Awaited<ReturnType<typeof r.analyseModelFolders>>;
    try {
      report = c.adapter
        ? await r.analyseAdapterFolder(c.base, c.adapter, r.openSafetensorsFolder, options)
        : await r.analyseModelFolders(c.base, c.finetuned!, r.openSafetensorsFolder, options);
    } finally {
      await lapack?.close();
    }
    ctx.reporter.done('analysing matrices');
    if (report.matrices.length === 0) {
      throw new (await import('@loralab/rank')).DataError(
        `no matrices of modules ${config.modules.join(', ')} found in both folders`,
        { file: c.adapter ?? c.finetuned },
      );
    }
    // rank@tau of ΔW per module, averaged over layers: the paper's Figure 6 in one table.
    const byModule = new Map<string, { n: number; rank: number; dim: number; eff: number; rel: number }>();
    for (const m of report.matrices) {
      const e = byModule.get(m.module) ?? { n: 0, rank: 0, dim: Math.min(m.rows, m.cols), eff: 0, rel: 0 };
      e.n++;
      e.rank += m.delta.rank_energy;
      e.eff += m.delta.effective_rank;
      e.rel += m.relative_update_norm;
      byModule.set(m.module, e);
    }
    const pct = Math.round(config.tau * 100);
    ctx.out(
      `${report.kind === 'adapter' ? 'adapter' : 'full finetune'}: ΔW of ${report.matrices.length} matrices in ${formatDuration((performance.now() - t0) / 1000)} (SVD: ${report.svd})`,
    );
    ctx.out(`module      layers  rank@${pct} (mean)  of dim  effective rank  ‖ΔW‖/‖W‖`);
    for (const [module, e] of byModule) {
      ctx.out(
        `${module.padEnd(10)}  ${String(e.n).padStart(6)}  ${(e.rank / e.n).toFixed(1).padStart(15)}  ${String(e.dim).padStart(6)}  ${(e.eff / e.n).toFixed(1).padStart(14)}  ${(e.rel / e.n).toFixed(4).padStart(9)}`,
      );
    }
    if (c.output) {
      const files = r.writeReport(c.output, report);
      ctx.reporter.log(`report: ${files.map((f) => f.split('/').pop()).join(', ')} in ${c.output}`);
    }
    return 0;
  },
};
