import { byteLevelPreTokenizer } from 'tokenizers';
import { describe, expect, it } from 'vitest';
import { randomUnicode, seeded } from '../test/helpers.js';
import { byteLevelTokenBytes, preTokenizeByteLevel } from './byte-level.js';

describe('preTokenizeByteLevel', () => {
  const native = byteLevelPreTokenizer(false, true);
  it("splits exactly as the tokenizers library's ByteLevel pre-tokenizer", () => {
    const rand = seeded(3);
    const ascii = () => {
      let s = '';
      for (let i = 0, n = Math.floor(rand() * 60); i < n; i++) {
        s += rand() < 0.2 ? ' \n\t'[Math.floor(rand() * 3)] : String.fromCharCode(Math.floor(rand() * 128));
      }
      return s;
    };
    const cases = ["I'm sure they've    gone\n\n  home's 'll", 'x = a+b  # sum\r\n', ''];
    for (let i = 0; i < 3000; i++) cases.push(i % 2 ? ascii() : randomUnicode(rand));
    for (const text of cases) {
      expect(preTokenizeByteLevel(text), JSON.stringify(text)).toEqual(
        native.preTokenizeString(text).map((p) => p[0]),
      );
    }
  });

  it('maps byte-level tokens back to bytes', () => {
    expect(Buffer.from(byteLevelTokenBytes('Ġthe')!).toString()).toBe(' the');
    expect(Buffer.from(byteLevelTokenBytes('Ċ')!).toString()).toBe('\n');
    expect(Buffer.from(byteLevelTokenBytes('<|im_start|>')!).toString()).toBe('<|im_start|>');
    expect(byteLevelTokenBytes('a b')).toBeNull(); // a raw space is not a byte-level character
  });
});
