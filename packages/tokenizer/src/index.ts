// @loralab/tokenizer: Hugging Face tokenizers for loralab — load, train, encode, decode, chat templates.
export { type LearnedBpe, type LearnMergesOptions, learnBpeMerges } from './bpe-merges.js';
export { byteLevelTokenBytes, preTokenizeByteLevel } from './byte-level.js';
export {
  type ChatEncoding,
  type ChatMessage,
  type ChatTemplateOptions,
  encodeChat,
  encodeChatBatch,
  renderChatTemplate,
} from './chat-template.js';
export { Encoding, type Offset, scalarToUtf16Offsets } from './encoding.js';
export { TokenizerError } from './errors.js';
export { readLines, textsOf } from './text-source.js';
export {
  type BatchEncodeOptions,
  type DecodeOptions,
  type EncodeOptions,
  type SpecialToken,
  Tokenizer,
} from './tokenizer.js';
export { type AddedTokenSpec, parseTokenizerConfig, type TokenizerConfig } from './tokenizer-config.js';
export {
  CHATML_TEMPLATE,
  countWords,
  DEFAULT_TRAIN_BPE_OPTIONS,
  resolveTrainBpeOptions,
  type TrainBpeOptions,
  trainBpeTokenizer,
} from './train-bpe.js';
