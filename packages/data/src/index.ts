// @loralab/data: corpora sources, tokenized Arrow shards with a manifest, and a streaming loader.

export { fsyncDir, writeFileAtomic, writeJsonAtomic } from './atomic-file.js';
export { BROWN_CATEGORIES, brownDir, brownDocument, brownFiles, untagBrownLine } from './brown.js';
export {
  type Batch,
  DataLoader,
  DEFAULT_LOADER_CONFIG,
  IGNORE_INDEX,
  type LoaderConfig,
  type LoaderState,
  type ResolvedLoaderConfig,
  resolveLoaderConfig,
} from './data-loader.js';
export { DatasetReader, type RowRange, type TokenRange } from './dataset-reader.js';
export { type RankInfo, resolveRank, roundRobinCount } from './distributed.js';
export { ENGLISH_CORPORA, type EnglishCorpus, englishDocument, englishFiles } from './english-corpus.js';
export { ConfigError, DataError, type DataErrorWhere } from './errors.js';
export { expandPaths, readJsonArrayElements, readLinesNumbered } from './file-input.js';
export { finalizeDataset } from './finalize-dataset.js';
export {
  type FormatExampleOptions,
  formatBatchExample,
  formatDatasetExample,
  formatMaskedExample,
} from './format-example.js';
export {
  type Gsm8kRecord,
  generateMathProblems,
  MATH_LEVELS,
  type MathGeneratorConfig,
  type MathLevel,
  mathProblemText,
  mathSplitOf,
} from './gsm8k-generator.js';
export {
  CODE_LEVELS,
  type CodeGeneratorConfig,
  type CodeLevel,
  codeProblemCount,
  codeSplitOf,
  codeTaskProgram,
  generateCodeCorpus,
  generateCodeTasks,
  type HumanEvalRecord,
  pythonLiteral,
} from './humaneval-generator.js';
export {
  detectInstructFormat,
  INSTRUCT_LAYOUTS,
  type InstructFormat,
  type InstructLayout,
  type InstructMapping,
  instructColumns,
  type LossMaskStrategy,
  lossMaskFor,
  resolveInstructFormat,
  textContent,
  toChatMessages,
} from './instruct-formats.js';
export {
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestShard,
  readManifest,
  type TokenizerIdentity,
} from './manifest.js';
export {
  type ColumnSelection,
  decimalString,
  isoDate,
  isoTimestamp,
  type ParquetReadOptions,
  type ParquetRow,
  readParquetRows,
} from './parquet-records.js';
export { createRng, hashString, mixSeed, permutation } from './prng.js';
export {
  hfFeatures,
  readShard,
  type ShardColumns,
  type ShardData,
  type ShardExpectation,
  type ShardSummary,
  ShardWriter,
  shardSchema,
  type TokenArray,
  type TokenDtype,
  tokenDtypeFor,
} from './shard-file.js';
export {
  type BadRecordPolicy,
  emptyStats,
  hfDataFiles,
  type Partition,
  readSource,
  readSourceItems,
  recordText,
  resolveSourceConfig,
  type SourceConfig,
  type SourceItem,
  type SourceRecord,
  type SourceStats,
  sourceFiles,
} from './sources.js';
export {
  describeStreamSource,
  isStreamSource,
  resolveStreamSource,
  type StreamRecords,
  type StreamSource,
  streamRecordText,
  streamSourceItems,
} from './stream-source.js';
export { type TrainingTextOptions, trainingText } from './training-text.js';
export {
  DEFAULT_WRITE_DATASET_CONFIG,
  defaultChatThreads,
  type ResolvedWriteDatasetConfig,
  resolveWriteDatasetConfig,
  tokenizerIdentity,
  type WriteDatasetConfig,
  type WriteHooks,
  type WriteResult,
  writeTokenizedDataset,
} from './write-dataset.js';
