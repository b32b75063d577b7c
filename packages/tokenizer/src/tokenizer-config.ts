// `tokenizer_config.json` (transformers' format): special tokens, chat templates and limits.
import { TokenizerError } from './errors.js';
import { isRecord } from './json-file.js';

/** An added token as transformers writes it in `added_tokens_decoder` and `tokenizer.json`'s `added_tokens`. */
export interface AddedTokenSpec {
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  single_word: boolean;
}

/** The parts of `tokenizer_config.json` that loralab uses; unknown keys are kept in `raw` and written back. */
export interface TokenizerConfig {
  bos_token: string | null;
  eos_token: string | null;
  pad_token: string | null;
  unk_token: string | null;
  additional_special_tokens: string[];
  /** Named chat templates; the unnamed string form is stored as `default`. */
  chat_templates: Record<string, string>;
  /** Longest input the model takes, in tokens (transformers' `model_max_length`). */
  model_max_length: number | null;
  /** The whole parsed file, so that saving keeps fields loralab does not interpret. */
  raw: Record<string, unknown>;
}

export const EMPTY_TOKENIZER_CONFIG: TokenizerConfig = {
  bos_token: null,
  eos_token: null,
  pad_token: null,
  unk_token: null,
  additional_special_tokens: [],
  chat_templates: {},
  model_max_length: null,
  raw: {},
};

/** transformers writes a special token either as a string or as an AddedToken object `{content, ...}`. */
function tokenContent(value: unknown, key: string, file: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value.content === 'string') return value.content;
  throw new TokenizerError(
    `"${key}" must be a string or an object with a string "content", found ${JSON.stringify(value)}`,
    {
      file,
    },
  );
}

/** Validates a parsed `tokenizer_config.json`. */
export function parseTokenizerConfig(value: unknown, file: string): TokenizerConfig {
  if (!isRecord(value)) {
    throw new TokenizerError(
      `expected a JSON object, found ${Array.isArray(value) ? 'an array' : typeof value}`,
      { file },
    );
  }
  const extra = value.additional_special_tokens ?? [];
  if (!Array.isArray(extra)) {
    throw new TokenizerError('"additional_special_tokens" must be a list', { file });
  }
  const chat_templates: Record<string, string> = {};
  const template = value.chat_template;
  if (typeof template === 'string') {
    chat_templates.default = template;
  } else if (Array.isArray(template)) {
    // transformers' list form: [{ name, template }, ...]
    for (const [i, entry] of template.entries()) {
      if (!isRecord(entry) || typeof entry.name !== 'string' || typeof entry.template !== 'string') {
        throw new TokenizerError(
          `"chat_template"[${i}] must be an object with string "name" and "template"`,
          { file },
        );
      }
      chat_templates[entry.name] = entry.template;
    }
  } else if (template !== undefined && template !== null) {
    throw new TokenizerError(
      `"chat_template" must be a string or a list of {name, template}, found ${typeof template}`,
      {
        file,
      },
    );
  }
  const maxLength = value.model_max_length;
  if (maxLength !== undefined && maxLength !== null && (typeof maxLength !== 'number' || !(maxLength > 0))) {
    throw new TokenizerError(
      `"model_max_length" must be a positive number, found ${JSON.stringify(maxLength)}`,
      { file },
    );
  }
  return {
    bos_token: tokenContent(value.bos_token, 'bos_token', file),
    eos_token: tokenContent(value.eos_token, 'eos_token', file),
    pad_token: tokenContent(value.pad_token, 'pad_token', file),
    unk_token: tokenContent(value.unk_token, 'unk_token', file),
    additional_special_tokens: extra.map(
      (t, i) => tokenContent(t, `additional_special_tokens[${i}]`, file) ?? '',
    ),
    chat_templates,
    // transformers uses a huge sentinel (1e30) for "no limit"
    model_max_length: typeof maxLength === 'number' && maxLength < 1e15 ? maxLength : null,
    raw: value,
  };
}

/** Validates the `added_tokens` list of a parsed `tokenizer.json`. */
export function parseAddedTokens(value: unknown, file: string): Array<AddedTokenSpec & { id: number }> {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new TokenizerError('"added_tokens" must be a list', { file });
  return value.map((t, i) => {
    if (!isRecord(t) || typeof t.id !== 'number' || typeof t.content !== 'string') {
      throw new TokenizerError(`"added_tokens"[${i}] must have a numeric "id" and a string "content"`, {
        file,
      });
    }
    return {
      id: t.id,
      content: t.content,
      special: t.special === true,
      lstrip: t.lstrip === true,
      rstrip: t.rstrip === true,
      normalized: t.normalized === true,
      single_word: t.single_word === true,
    };
  });
}
