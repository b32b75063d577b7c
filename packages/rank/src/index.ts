// @loralab/rank: spectra of weight matrices and finetuning updates (Biderman et al. 2024, §5 and Figure 6).

export {
  type AnalyseOptions,
  type AnalysisReport,
  analyseAdapter,
  analyseCheckpoints,
  analyseMatrix,
  inlineSvd,
  type MatrixAnalysis,
  type SvdRunner,
} from './analyse.js';
export { type AnalysisConfig, DEFAULT_ANALYSIS_CONFIG, resolveAnalysisConfig } from './analysis-config.js';
export { applyChainRows, type BidiagonalVectors, bidiagonalQr, type ChainApplier } from './bidiagonal-qr.js';
export {
  type Bidiagonal,
  type BidiagonalizeOptions,
  bidiagonalize,
  formP,
  formQ,
  PARALLEL_MIN_ENTRIES,
} from './bidiagonalize.js';
export { ConfigError, ConvergenceError, DataError, ShapeError } from './errors.js';
export {
  analyseAdapterFolder,
  analyseModelFolders,
  readPeftAdapterConfig,
  type WeightSourceOpener,
} from './folders.js';
export { type IntruderCandidate, type IntruderReport, intruderDimensions } from './intruder-dimensions.js';
export { loraSvd } from './lora-svd.js';
export {
  checkMatrix,
  frobeniusNorm,
  fromRows,
  identity,
  type Matrix,
  type Matrix64,
  matmul,
  matmulTransA,
  subtract,
  toFloat64,
  transpose,
  zeros,
} from './matrix.js';
export {
  type LoraModuleKeys,
  loraModules,
  loraScaling,
  type PeftAdapterConfig,
  parsePeftAdapterConfig,
  readLoraFactors,
} from './peft-adapter.js';
export { type QrResult, qr } from './qr.js';
export { Random } from './random.js';
export { gaussianLike, gaussianMatrix, perturbWithNoise } from './random-baselines.js';
export { type RandomizedSvdOptions, type RandomizedSvdResult, randomizedSvd } from './randomized-svd.js';
export {
  explainedVarianceSvg,
  MODULE_COLORS,
  REPORT_FILES,
  REPORT_FORMAT_VERSION,
  rankByLayerSvg,
  reportCsv,
  reportJson,
  spectraJson,
  spectraSvg,
  writeFileAtomic,
  writeReport,
} from './report-files.js';
export { openSafetensorsFolder } from './safetensors-source.js';
export {
  effectiveRank,
  explainedVariance,
  rankAtEnergy,
  rankAtSigma,
  type SpectrumMetrics,
  spectrumMetrics,
  stableRank,
} from './spectrum-metrics.js';
export { subspaceSimilarity, subspaceSimilarityGrid } from './subspace-similarity.js';
export { type SvdOptions, type SvdResult, singularValues, svd } from './svd.js';
export { DEFAULT_OFFLOAD_THRESHOLD, type SvdAsyncOptions, SvdWorkerPool, svdAsync } from './svd-pool.js';
export {
  chooseSvdProvider,
  createWasmSvd,
  mapConcurrent,
  type SvdProvider,
  type SvdSelection,
  svdSelection,
} from './svd-provider.js';
export { type ChartSeries, type ChartSpec, niceTicks, renderChart, renderPanels } from './svg-chart.js';
export {
  checkSameShape,
  LLAMA_MODULES,
  type ModuleName,
  memoryWeightSource,
  parseModuleName,
  type WeightSource,
} from './weight-source.js';
