// Training a byte-level BPE tokenizer (GPT-2 style, as Llama 3 uses) from streamed text, saved in
// Hugging Face's tokenizer.json / tokenizer_config.json formats.
import { byteLevelAlphabet } from 'tokenizers';
import { learnBpeMerges } from './bpe-merges.js';
import { preTokenizeByteLevel } from './byte-level.js';
import { TokenizerError } from './errors.js';
import { textsOf } from './text-source.js';
import { Tokenizer } from './tokenizer.js';

/** ChatML, the default template of trained tokenizers; it opens with the BOS token, as transformers expects. */
export const CHATML_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface TrainBpeOptions {
  /** Text files to train on (`.gz` allowed), read line by line. */
  files?: string[];
  /** Documents to train on, from any (async) iterable; used after `files`. */
  texts?: Iterable<string> | AsyncIterable<string>;
  /** Vocabulary size, special tokens and the 256 byte characters included; smaller if the input runs out of
   * pairs to merge. Default 8192. */
  vocabSize?: number;
  /** A pair is merged only if it occurs at least this often. Default 2. */
  minFrequency?: number;
  /** Longest token in byte characters; default no limit. */
  maxTokenLength?: number;
  /** Beginning of sequence; null for none. Default `<|begin_of_text|>`. */
  bosToken?: string | null;
  /** End of sequence (document separator). Default `<|end_of_text|>`. */
  eosToken?: string | null;
  /** Padding. Default `<|pad|>`. */
  padToken?: string | null;
  /** Further special tokens, such as chat-role markers. Default `<|im_start|>`, `<|im_end|>` (ChatML). */
  additionalSpecialTokens?: string[];
  /** Add BOS when encoding with `addSpecialTokens: true`. Default true. */
  addBosToken?: boolean;
  /** Add EOS when encoding with `addSpecialTokens: true`. Default false. */
  addEosToken?: boolean;
  /** Jinja chat template written to tokenizer_config.json. Default ChatML (`CHATML_TEMPLATE`). */
  chatTemplate?: string;
  /** `model_max_length` in tokenizer_config.json. Default 2048. */
  modelMaxLength?: number;
  /** Called every 10,000 texts and at the end with the number of texts and distinct words so far. */
  onProgress?: (progress: { texts: number; words: number }) => void;
}

export const DEFAULT_TRAIN_BPE_OPTIONS = {
  vocabSize: 8192,
  minFrequency: 2,
  bosToken: '<|begin_of_text|>',
  eosToken: '<|end_of_text|>',
  padToken: '<|pad|>',
  additionalSpecialTokens: ['<|im_start|>', '<|im_end|>'],
  addBosToken: true,
  addEosToken: false,
  chatTemplate: CHATML_TEMPLATE,
  modelMaxLength: 2048,
} as const;

const KNOWN_KEYS = new Set<string>([
  ...Object.keys(DEFAULT_TRAIN_BPE_OPTIONS),
  'files',
  'texts',
  'maxTokenLength',
  'onProgress',
]);

type Resolved = Required<Omit<TrainBpeOptions, 'files' | 'texts' | 'maxTokenLength' | 'onProgress'>> &
  Pick<TrainBpeOptions, 'files' | 'texts' | 'maxTokenLength' | 'onProgress'> & { specialTokens: string[] };

/** Applies defaults and checks options once: unknown keys, sizes, and that there is input. */
export function resolveTrainBpeOptions(options: TrainBpeOptions): Resolved {
  for (const k of Object.keys(options)) {
    if (!KNOWN_KEYS.has(k)) {
      throw new TokenizerError(
        `unknown training option "${k}"; known options: ${[...KNOWN_KEYS].sort().join(', ')}`,
      );
    }
  }
  const o = { ...DEFAULT_TRAIN_BPE_OPTIONS, ...options };
  if (!o.files?.length && !o.texts) throw new TokenizerError('training needs input: pass "files" or "texts"');
  const specialTokens = [
    ...new Set([o.bosToken, o.eosToken, o.padToken, ...o.additionalSpecialTokens].filter((t) => t !== null)),
  ] as string[];
  if (specialTokens.some((t) => typeof t !== 'string' || t.length === 0)) {
    throw new TokenizerError('special tokens must be non-empty strings');
  }
  const minVocab = 256 + specialTokens.length;
  if (!Number.isInteger(o.vocabSize) || o.vocabSize < minVocab) {
    throw new TokenizerError(
      `"vocabSize" must be an integer >= ${minVocab} (256 byte characters + ${specialTokens.length} special tokens), found ${o.vocabSize}`,
    );
  }
  if (!Number.isInteger(o.minFrequency) || o.minFrequency < 0) {
    throw new TokenizerError(`"minFrequency" must be a non-negative integer, found ${o.minFrequency}`);
  }
  if (o.addBosToken && o.bosToken === null) throw new TokenizerError('"addBosToken" needs a "bosToken"');
  if (o.addEosToken && o.eosToken === null) throw new TokenizerError('"addEosToken" needs an "eosToken"');
  return { ...o, additionalSpecialTokens: [...o.additionalSpecialTokens], specialTokens };
}

/** Counts pre-tokenized words (byte-level, GPT-2 regex) over the input, one text at a time. */
export async function countWords(
  input: Pick<TrainBpeOptions, 'files' | 'texts' | 'onProgress'>,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let texts = 0;
  for await (const text of textsOf(input)) {
    for (const word of preTokenizeByteLevel(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
    if (++texts % 10_000 === 0) input.onProgress?.({ texts, words: counts.size });
  }
  input.onProgress?.({ texts, words: counts.size });
  return counts;
}

/**
 * Trains a byte-level BPE tokenizer. Memory is bounded by the number of distinct words, not the size of
 * the input, which is streamed. The result saves with `tokenizer.save(dir)`.
 */
export async function trainBpeTokenizer(options: TrainBpeOptions): Promise<Tokenizer> {
  const o = resolveTrainBpeOptions(options);
  const words = await countWords(o);
  const { vocab, merges } = learnBpeMerges(words, {
    vocabSize: o.vocabSize,
    minFrequency: o.minFrequency,
    specialTokens: o.specialTokens,
    initialAlphabet: byteLevelAlphabet(),
    ...(o.maxTokenLength !== undefined && { maxTokenLength: o.maxTokenLength }),
  });
  return Tokenizer.fromJSON(buildTokenizerJson(o, vocab, merges), buildTokenizerConfig(o, vocab));
}

function buildTokenizerJson(o: Resolved, vocab: Map<string, number>, merges: Array<[string, string]>) {
  const byteLevel = { add_prefix_space: false, trim_offsets: false, use_regex: true };
  const special = (t: string) => ({ SpecialToken: { id: t, type_id: 0 } });
  const single = [
    ...(o.addBosToken ? [special(o.bosToken!)] : []),
    { Sequence: { id: 'A', type_id: 0 } },
    ...(o.addEosToken ? [special(o.eosToken!)] : []),
  ];
  const pair = [
    ...single,
    ...single.map((p) => ('Sequence' in p ? { Sequence: { id: 'B', type_id: 1 } } : p)),
  ];
  const used = [...(o.addBosToken ? [o.bosToken!] : []), ...(o.addEosToken ? [o.eosToken!] : [])];
  const template = {
    type: 'TemplateProcessing',
    single,
    pair,
    special_tokens: Object.fromEntries(used.map((t) => [t, { id: t, ids: [vocab.get(t)], tokens: [t] }])),
  };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: o.specialTokens.map((content) => ({
      id: vocab.get(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', ...byteLevel },
    post_processor: used.length
      ? { type: 'Sequence', processors: [{ type: 'ByteLevel', ...byteLevel }, template] }
      : { type: 'ByteLevel', ...byteLevel },
    decoder: { type: 'ByteLevel', ...byteLevel },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(vocab),
      // "a b" strings: readable by every tokenizers version (byte-level tokens never contain a space).
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

function buildTokenizerConfig(o: Resolved, vocab: Map<string, number>) {
  return {
    add_bos_token: o.addBosToken,
    add_eos_token: o.addEosToken,
    added_tokens_decoder: Object.fromEntries(
      o.specialTokens.map((content) => [
        String(vocab.get(content)),
        { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true },
      ]),
    ),
    bos_token: o.bosToken,
    eos_token: o.eosToken,
    pad_token: o.padToken,
    unk_token: null,
    additional_special_tokens: o.additionalSpecialTokens,
    chat_template: o.chatTemplate,
    clean_up_tokenization_spaces: false,
    model_input_names: ['input_ids', 'attention_mask'],
    model_max_length: o.modelMaxLength,
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
}
