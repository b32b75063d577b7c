// @loralab/data: corpora sources, tokenized Arrow shards with a manifest, and a streaming loader.
export { BROWN_CATEGORIES, brownDir, brownDocument, brownFiles, untagBrownLine } from './brown.js';
export { ConfigError, DataError, type DataErrorWhere } from './errors.js';
export { expandPaths, readJsonArrayElements, readLinesNumbered } from './file-input.js';
export {
  type Gsm8kRecord,
  generateMathProblems,
  type MathGeneratorConfig,
  mathProblemText,
  mathSplitOf,
} from './gsm8k-generator.js';
export {
  type CodeGeneratorConfig,
  codeProblemCount,
  codeSplitOf,
  codeTaskProgram,
  generateCodeCorpus,
  generateCodeTasks,
  type HumanEvalRecord,
  pythonLiteral,
} from './humaneval-generator.js';
export { createRng, hashString, mixSeed, permutation } from './prng.js';
export {
  type BadRecordPolicy,
  emptyStats,
  hfDataFiles,
  type Partition,
  readSource,
  recordText,
  resolveSourceConfig,
  type SourceConfig,
  type SourceRecord,
  type SourceStats,
  sourceFiles,
} from './sources.js';
