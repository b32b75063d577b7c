// Config files (JSON or YAML) and command-line overrides (`--set optimizer.lr=1e-4`), merged into one plain object.
// Order: the file, then the command's direct flags, then each --set in the order given (last wins).
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError } from './errors.js';

export type ConfigObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is ConfigObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Line (1-based) of character `offset` in `text`. */
function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Reads a config file: `.json` as JSON, `.yaml`/`.yml` as YAML (other extensions: JSON if it parses, else YAML).
 * The top level must be a mapping. Errors name the file and line.
 */
export function loadConfigFile(file: string): ConfigObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError('', `cannot read the config file: ${(cause as Error).message}`, { file, cause });
  }
  const ext = extname(file).toLowerCase();
  let value: unknown;
  if (ext === '.json' || (ext !== '.yaml' && ext !== '.yml' && /^\s*[{[]/.test(text))) {
    try {
      value = JSON.parse(text);
    } catch (cause) {
      const m = /position (\d+)/.exec((cause as Error).message);
      const line = m ? lineOf(text, Number(m[1])) : undefined;
      throw new ConfigError('', `not valid JSON: ${(cause as Error).message}`, { file, line, cause });
    }
  } else {
    const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
    const error = doc.errors[0];
    if (error) {
      const line = error.linePos?.[0]?.line ?? lineOf(text, error.pos[0]);
      throw new ConfigError('', `not valid YAML: ${error.message.split('\n')[0]}`, {
        file,
        line,
        cause: error,
      });
    }
    value = doc.toJS();
  }
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) {
    throw new ConfigError(
      '',
      `expected a mapping of keys to values at the top level, found ${describe(value)}`,
      {
        file,
      },
    );
  }
  return value;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return `a ${typeof value}`;
}

/** One `--set` override: a dotted key path and a value. */
export interface Override {
  path: string[];
  value: unknown;
}

/**
 * Parses `key.path=value`. The value is read as a YAML scalar or flow collection, so `1e-4`, `true`, `null`,
 * `[4, 16, 64]` and `{r: 8}` are typed; anything else is a string (quote it to force one: `name="007"`).
 */
export function parseOverride(text: string): Override {
  const eq = text.indexOf('=');
  if (eq <= 0)
    throw new ConfigError('', `--set expects KEY=VALUE (for example optimizer.lr=1e-4), found "${text}"`);
  const key = text.slice(0, eq).trim();
  const path = key.split('.');
  if (path.some((p) => p === '')) throw new ConfigError(key, 'empty component in the key path');
  const raw = text.slice(eq + 1);
  const doc = parseDocument(raw === '' ? '""' : raw, { prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(key, `cannot parse the value "${raw}": ${doc.errors[0]!.message.split('\n')[0]}`);
  }
  return { path, value: doc.toJS() };
}

/** Sets `path` in `target` (creating mappings on the way); a numeric component indexes an existing list. */
export function setPath(target: ConfigObject, path: readonly string[], value: unknown): void {
  let node: unknown = target;
  for (let i = 0; i < path.length - 1; i++) {
    const part = path[i]!;
    const container = node as Record<string, unknown>;
    let next = Array.isArray(node) ? node[Number(part)] : container[part];
    if (next === undefined || next === null) {
      next = {};
      if (Array.isArray(node)) {
        if (!isIndex(part, node)) {
          throw new ConfigError(
            path.slice(0, i + 1).join('.'),
            `no such list element (the list has ${node.length})`,
          );
        }
        node[Number(part)] = next;
      } else container[part] = next;
    } else if (typeof next !== 'object') {
      throw new ConfigError(
        path.slice(0, i + 1).join('.'),
        `is ${JSON.stringify(next)}, not a mapping, so it has no key "${path[i + 1]}"`,
      );
    }
    node = next;
  }
  const last = path[path.length - 1]!;
  if (Array.isArray(node)) {
    if (!isIndex(last, node) && Number(last) !== node.length)
      throw new ConfigError(path.join('.'), `no such list element (the list has ${node.length})`);
    node[Number(last)] = value;
  } else (node as Record<string, unknown>)[last] = value;
}

function isIndex(part: string, list: unknown[]): boolean {
  return /^\d+$/.test(part) && Number(part) < list.length;
}

/** A deep copy of `base` with every override applied in order. */
export function applyOverrides(base: ConfigObject, overrides: readonly Override[]): ConfigObject {
  const out = structuredClone(base);
  for (const o of overrides) setPath(out, o.path, o.value);
  return out;
}

/**
 * Merges `top` into `base` recursively (mappings merge, everything else replaces); `undefined` values in `top`
 * are skipped, so unset flags do not erase file values.
 */
export function deepMerge(base: ConfigObject, top: ConfigObject): ConfigObject {
  const out: ConfigObject = { ...base };
  for (const [k, v] of Object.entries(top)) {
    if (v === undefined) continue;
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as ConfigObject, v) : v;
  }
  return out;
}

/** A template value meaning "any keys allowed below here". */
export const ANY_KEYS: unique symbol = Symbol('any keys');

/** The shape of a config: a mapping of known keys to nested templates, `ANY_KEYS`, or a leaf (any other value). */
export type KeyTemplate = { [key: string]: KeyTemplate } | typeof ANY_KEYS | null;

/**
 * Rejects keys of `value` that `template` does not know, with the full dotted path and the keys it knows, so a
 * typo in a file or an override is caught before any work starts.
 */
export function rejectUnknownKeys(value: unknown, template: KeyTemplate, prefix = ''): void {
  if (template === ANY_KEYS || template === null || !isPlainObject(value)) return;
  for (const [k, v] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (!Object.hasOwn(template, k)) {
      throw new ConfigError(path, `unknown key; known keys here: ${Object.keys(template).sort().join(', ')}`);
    }
    rejectUnknownKeys(v, template[k] ?? null, path);
  }
}
