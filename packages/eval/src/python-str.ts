// Python str methods the reference harnesses apply, where JavaScript's nearest ones differ.

// str.isspace() characters: Unicode White_Space plus the separators \x1c-\x1f (not U+FEFF, which JS trims).
const SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const STRIP = new RegExp(`^[${SPACE}]+|[${SPACE}]+$`, 'g');

/** Number of pieces of Python's `re.split(r"\s+", s)` (empty pieces at the ends count, as in Python). */
export function pythonWhitespaceSplitCount(s: string): number {
  return s.split(new RegExp(`[${SPACE}]+`)).length;
}

/** Python's `str.strip()` with no argument. */
export function pythonStrip(s: string): string {
  return s.replace(STRIP, '');
}

/** Python's `str.capitalize()`: first character upper-cased, the rest lower-cased. */
export function pythonCapitalize(s: string): string {
  const [first = '', ...rest] = s;
  return first.toUpperCase() + rest.join('').toLowerCase();
}

/** Python's `len()` of a str: code points, not UTF-16 units. */
export function pythonLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
