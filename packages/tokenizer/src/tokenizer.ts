// A Hugging Face `tokenizer.json` (+ `tokenizer_config.json`) behind a small, explicit API,
// on the `tokenizers` library's native bindings.
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Encoding as RawEncoding, Tokenizer as RawTokenizer } from 'tokenizers';
import {
  type ChatEncoding,
  type ChatMessage,
  type ChatTemplateOptions,
  encodeChat,
  encodeChatBatch,
  renderChatTemplate,
} from './chat-template.js';
import { Encoding } from './encoding.js';
import { TokenizerError } from './errors.js';
import { isRecord, parseJson, readJsonFile, writeFileAtomic } from './json-file.js';
import {
  type AddedTokenSpec,
  EMPTY_TOKENIZER_CONFIG,
  parseAddedTokens,
  parseTokenizerConfig,
  type TokenizerConfig,
} from './tokenizer-config.js';

export interface EncodeOptions {
  /** Add the tokens of the post-processor (for example BOS). Required: there is no hidden default. */
  addSpecialTokens: boolean;
  /**
   * Match special-token text in the input (`<|im_start|>`, `<|endoftext|>`) as control tokens.
   * Default false: such text is encoded as ordinary text, so user content cannot inject control tokens.
   */
  allowSpecial?: boolean;
  /** Keep at most this many tokens, counting the added special tokens, which are kept. */
  maxLength?: number;
  /** Which end truncation removes tokens from. Default `right`. */
  truncationSide?: 'left' | 'right';
}

export interface BatchEncodeOptions extends EncodeOptions {
  /** `longest`: pad to the longest sequence in the batch; a number: pad every sequence to that length. */
  padding?: 'longest' | number;
  /** Which end padding goes on. Default `right` (use `left` for batched generation). */
  paddingSide?: 'left' | 'right';
  /** Round the padded length up to a multiple of this. */
  padToMultipleOf?: number;
}

export interface DecodeOptions {
  /** Drop special tokens (BOS, EOS, chat markers) from the text. Default false. */
  skipSpecialTokens?: boolean;
}

/** A special token and its id. */
export interface SpecialToken {
  token: string;
  id: number;
}

/** A tokenizer loaded from Hugging Face files, or trained with `trainBpeTokenizer`. */
export class Tokenizer {
  /** Matches every added token, special ones included. */
  private readonly withSpecial: RawTokenizer;
  /**
   * The same tokenizer with special added tokens removed, so their text encodes as plain text. Built on first use,
   * as `decoding` is: each costs a parse of the whole tokenizer (a worker that only encodes chat never needs them).
   */
  private plainRaw: RawTokenizer | undefined;
  /**
   * The tokenizer that decodes: `withSpecial`, or a copy whose added tokens are all `normalized: false` when some
   * are not. The bindings look a normalized added token up by its normalized form (`▁<s>` for a Llama `<s>`), so
   * they neither skip it with `skipSpecialTokens` nor print it as written; the copy decodes as the file means.
   */
  private decodingRaw: RawTokenizer | undefined;
  private readonly derived: { plain: () => RawTokenizer; decoding: () => RawTokenizer };
  /** The text of each added token, by id. */
  private readonly addedContent: ReadonlyMap<number, string>;
  private nSpecialAdded: number | undefined;
  /** Vocabulary pieces by id (null for added tokens), built on the first `healPrompt`. */
  private pieces: (string | null)[] | undefined;
  private readonly healCache = new Map<number, number[]>();

  /** Special (control) added tokens, by content. */
  readonly specialTokens: ReadonlyMap<string, AddedTokenSpec & { id: number }>;
  /** Ids of the special tokens. */
  readonly specialIds: ReadonlySet<number>;
  readonly bos: SpecialToken | null;
  readonly eos: SpecialToken | null;
  readonly pad: SpecialToken | null;
  readonly unk: SpecialToken | null;

  private constructor(
    /** The `tokenizer.json` text this tokenizer was built from. */
    readonly json: string,
    readonly config: TokenizerConfig,
    file: string,
  ) {
    const parsed = parseJson(json, file);
    if (!isRecord(parsed) || !isRecord(parsed.model) || typeof parsed.model.type !== 'string') {
      throw new TokenizerError(
        'not a Hugging Face tokenizer.json: expected an object with "model": { "type": ... }',
        {
          file,
        },
      );
    }
    const added = parseAddedTokens(parsed.added_tokens, file);
    this.withSpecial = loadRaw(json, file);
    const special = added.filter((t) => t.special);
    this.specialTokens = new Map(special.map((t) => [t.content, t]));
    this.specialIds = new Set(special.map((t) => t.id));
    this.addedContent = new Map(added.map((t) => [t.id, t.content]));
    const withSpecial = this.withSpecial;
    this.derived = {
      decoding: () =>
        added.some((t) => t.normalized)
          ? loadRaw(
              JSON.stringify({
                ...parsed,
                added_tokens: (parsed.added_tokens as Array<Record<string, unknown>>).map((t) => ({
                  ...t,
                  normalized: false,
                })),
              }),
              file,
            )
          : withSpecial,
      plain: () => {
        const ordinary = (parsed.added_tokens as unknown[] | undefined)?.filter((_, i) => !added[i]!.special);
        return special.length
          ? loadRaw(JSON.stringify({ ...parsed, added_tokens: ordinary }), file)
          : withSpecial;
      },
    };
    const find = (content: string | null, key: string): SpecialToken | null => {
      if (content === null) return null;
      const id = this.withSpecial.tokenToId(content);
      if (id === null || id === undefined) {
        throw new TokenizerError(
          `${key} "${content}" from tokenizer_config.json is not in the vocabulary of tokenizer.json`,
          {
            file,
          },
        );
      }
      return { token: content, id };
    };
    this.bos = find(config.bos_token, 'bos_token');
    this.eos = find(config.eos_token, 'eos_token');
    this.pad = find(config.pad_token, 'pad_token');
    this.unk = find(config.unk_token, 'unk_token');
  }

  /**
   * Loads a Hugging Face tokenizer: a folder with `tokenizer.json` and optionally `tokenizer_config.json`,
   * or the path of a `tokenizer.json` (its folder's `tokenizer_config.json` is read when present).
   */
  static async fromPretrained(path: string): Promise<Tokenizer> {
    const isDir = await stat(path).then(
      (s) => s.isDirectory(),
      () => false,
    );
    const dir = isDir ? path : join(path, '..');
    const tokenizerFile = isDir ? join(path, 'tokenizer.json') : path;
    const configFile = join(dir, 'tokenizer_config.json');
    const { text } = await readJsonFile(tokenizerFile);
    const hasConfig = await stat(configFile).then(
      () => true,
      () => false,
    );
    const config = hasConfig
      ? parseTokenizerConfig((await readJsonFile(configFile)).value, configFile)
      : EMPTY_TOKENIZER_CONFIG;
    return new Tokenizer(text, config, tokenizerFile);
  }

  /** Builds a tokenizer from `tokenizer.json` text (or its parsed object) and an optional parsed `tokenizer_config.json`. */
  static fromJSON(tokenizerJson: string | object, tokenizerConfig?: unknown): Tokenizer {
    const text = typeof tokenizerJson === 'string' ? tokenizerJson : JSON.stringify(tokenizerJson);
    const config =
      tokenizerConfig === undefined
        ? EMPTY_TOKENIZER_CONFIG
        : parseTokenizerConfig(tokenizerConfig, 'tokenizer_config.json');
    return new Tokenizer(text, config, 'tokenizer.json');
  }

  private get plain(): RawTokenizer {
    this.plainRaw ??= this.derived.plain();
    return this.plainRaw;
  }

  private get decoding(): RawTokenizer {
    this.decodingRaw ??= this.derived.decoding();
    return this.decodingRaw;
  }

  /** Vocabulary size, added tokens included (the embedding matrix needs at least this many rows). */
  get vocabSize(): number {
    return this.withSpecial.getVocabSize(true);
  }

  tokenToId(token: string): number | null {
    return this.withSpecial.tokenToId(token) ?? null;
  }

  idToToken(id: number): string | null {
    return this.withSpecial.idToToken(id) ?? null;
  }

  /**
   * Token healing (transformers' `token_healing`, guidance's): drops a prompt's last token and names the tokens the
   * first generated token may be, those whose vocabulary piece starts with the dropped one's. A prompt that ends
   * inside what training saw as one token (a byte-level `"\n"` before `"\n   "` + `" return"`, `"Answer: "` before
   * `" 72"`) then continues as training did instead of from a token boundary it never saw. `tail` is the dropped
   * token's text: the generated text, decoded alone, starts with it. An added token (special or not) never merges
   * with its neighbours and is not healed: the prompt comes back whole with `allowed` null.
   */
  healPrompt(ids: readonly number[]): { ids: number[]; tail: string; allowed: number[] | null } {
    checkIds([...ids], this.vocabSize);
    const last = ids.at(-1);
    if (ids.length < 2 || last === undefined || this.addedContent.has(last))
      return { ids: [...ids], tail: '', allowed: null };
    let allowed = this.healCache.get(last);
    if (!allowed) {
      this.pieces ??= Array.from({ length: this.vocabSize }, (_, id) =>
        this.addedContent.has(id) ? null : (this.decoding.idToToken(id) ?? null),
      );
      const piece = this.pieces[last];
      allowed = [];
      if (piece) for (const [id, p] of this.pieces.entries()) if (p?.startsWith(piece)) allowed.push(id);
      this.healCache.set(last, allowed);
    }
    // Only the token itself: nothing to heal.
    if (allowed.length < 2) return { ids: [...ids], tail: '', allowed: null };
    return { ids: ids.slice(0, -1), tail: this.decodeSync([last]), allowed };
  }

  /** The chat template of `tokenizer_config.json`: `name`, else `default`, else null. */
  chatTemplate(name = 'default'): string | null {
    return this.config.chat_templates[name] ?? this.config.chat_templates.default ?? null;
  }

  /** Encodes one text. */
  encode(text: string, options: EncodeOptions): Promise<Encoding> {
    // One promise hop, no async frames: this is the per-call hot path.
    return this.encodeRaw(text, options).then((raw) => new Encoding(raw, text, this.specialIds));
  }

  /** Encodes many texts in parallel on the native thread pool, optionally padded to one length. */
  async encodeBatch(texts: string[], options: BatchEncodeOptions): Promise<Encoding[]> {
    const raw = options.maxLength
      ? await Promise.all(texts.map((t) => this.encodeRaw(t, options)))
      : await this.rawFor(options).encodeBatch(texts, { addSpecialTokens: options.addSpecialTokens });
    if (options.padding !== undefined) this.padAll(raw, options);
    return raw.map((r, i) => new Encoding(r, texts[i]!, this.specialIds));
  }

  /**
   * Decodes ids to text as the `tokenizers` library does: every token (added tokens as written in
   * `added_tokens`) goes through the tokenizer's decoder as one sequence, or, without a decoder, the tokens are
   * joined by spaces. `skipSpecialTokens` drops every special added token first, whatever its `normalized` flag.
   */
  async decode(ids: number[], options: DecodeOptions = {}): Promise<string> {
    checkIds(ids, this.vocabSize);
    return this.decoding.decode(ids, options.skipSpecialTokens ?? false);
  }

  /**
   * `decode` without a round trip through the native thread pool, for callers that need text inside a
   * synchronous loop (stop strings during generation). Same result, computed from the same token strings and
   * decoder.
   */
  decodeSync(ids: number[], options: DecodeOptions = {}): string {
    checkIds(ids, this.vocabSize);
    const tokens: string[] = [];
    for (const id of ids) {
      if (options.skipSpecialTokens && this.specialIds.has(id)) continue;
      tokens.push(this.addedContent.get(id) ?? this.decoding.idToToken(id) ?? '');
    }
    const decoder = this.decoding.getDecoder();
    return decoder ? decoder.decode(tokens) : tokens.join(' ');
  }

  async decodeBatch(batch: number[][], options: DecodeOptions = {}): Promise<string[]> {
    for (const ids of batch) checkIds(ids, this.vocabSize);
    return this.decoding.decodeBatch(batch, options.skipSpecialTokens ?? false);
  }

  /** Renders a conversation to text with the tokenizer's Jinja chat template. */
  applyChatTemplate(messages: ChatMessage[], options: ChatTemplateOptions = {}): string {
    return renderChatTemplate(this, messages, options);
  }

  /**
   * Renders and encodes a conversation, and returns the token spans of assistant turns (content plus
   * the end-of-turn token), which are what instruction finetuning trains on.
   */
  async encodeChat(messages: ChatMessage[], options: ChatTemplateOptions = {}): Promise<ChatEncoding> {
    return encodeChat(this, messages, options);
  }

  /** `encodeChat` for many conversations at once, on the native thread pool; each result equals `encodeChat`'s. */
  async encodeChatBatch(
    conversations: ChatMessage[][],
    options: ChatTemplateOptions = {},
  ): Promise<ChatEncoding[]> {
    return encodeChatBatch(this, conversations, options);
  }

  /** Writes `tokenizer.json` and `tokenizer_config.json` into `dir`, each atomically. */
  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(join(dir, 'tokenizer.json'), this.json);
    await writeFileAtomic(
      join(dir, 'tokenizer_config.json'),
      `${JSON.stringify(this.config.raw, null, 2)}\n`,
    );
  }

  /** @internal Encodes `text` with added-token matching as chosen, no special tokens added. Used by chat encoding. */
  rawEncode(text: string, allowSpecial: boolean): Promise<RawEncoding> {
    return (allowSpecial ? this.withSpecial : this.plain).encode(text, null, { addSpecialTokens: false });
  }

  private rawFor(options: EncodeOptions): RawTokenizer {
    return options.allowSpecial ? this.withSpecial : this.plain;
  }

  private encodeRaw(text: string, options: EncodeOptions): Promise<RawEncoding> {
    if (typeof text !== 'string') {
      return Promise.reject(new TokenizerError(`encode expects a string, found ${typeof text}`));
    }
    const raw = this.rawFor(options);
    if (!options.maxLength) return raw.encode(text, null, { addSpecialTokens: options.addSpecialTokens });
    return this.encodeTruncated(raw, text, options.maxLength, options);
  }

  private async encodeTruncated(
    raw: RawTokenizer,
    text: string,
    maxLength: number,
    options: EncodeOptions,
  ): Promise<RawEncoding> {
    // Truncate the text's tokens first, then add special tokens, so that BOS/EOS survive truncation.
    const added = options.addSpecialTokens ? await this.numSpecialTokensToAdd() : 0;
    if (maxLength <= added) {
      throw new TokenizerError(`maxLength ${maxLength} leaves no room next to ${added} added special tokens`);
    }
    const enc = await raw.encode(text, null, { addSpecialTokens: false });
    enc.truncate(maxLength - added, 0, options.truncationSide ?? 'right');
    return options.addSpecialTokens ? raw.postProcess(enc, null, true) : enc;
  }

  /** How many tokens the post-processor adds to a single sequence (BOS, EOS, ...). */
  async numSpecialTokensToAdd(): Promise<number> {
    this.nSpecialAdded ??= (await this.withSpecial.encode('', null, { addSpecialTokens: true })).getLength();
    return this.nSpecialAdded;
  }

  private padAll(raw: RawEncoding[], options: BatchEncodeOptions): void {
    if (!this.pad) {
      throw new TokenizerError('padding needs a pad token: set "pad_token" in tokenizer_config.json');
    }
    let length =
      options.padding === 'longest' ? Math.max(0, ...raw.map((r) => r.getLength())) : options.padding!;
    const multiple = options.padToMultipleOf;
    if (multiple && length % multiple !== 0) length += multiple - (length % multiple);
    for (const r of raw) {
      r.pad(length, {
        padId: this.pad.id,
        padToken: this.pad.token,
        direction: options.paddingSide ?? 'right',
      });
    }
  }
}

function loadRaw(json: string, file: string): RawTokenizer {
  try {
    return RawTokenizer.fromString(json);
  } catch (cause) {
    throw new TokenizerError(
      `the tokenizers library rejected this tokenizer.json: ${(cause as Error).message}`,
      {
        file,
        cause,
      },
    );
  }
}

function checkIds(ids: number[], vocabSize: number): void {
  for (const [i, id] of ids.entries()) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new TokenizerError(
        `cannot decode id ${id} at index ${i}: ids must be integers in [0, ${vocabSize})`,
      );
    }
  }
}
