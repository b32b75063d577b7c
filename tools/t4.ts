import { readFileSync } from 'node:fs';
import { byteLevelAlphabet, byteLevelPreTokenizer } from 'tokenizers';
const RE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
// bytes_to_unicode of GPT-2
const BYTE: string[] = [];
{ const bs: number[] = []; for (let b = 33; b <= 126; b++) bs.push(b); for (let b = 161; b <= 172; b++) bs.push(b); for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs]; let n = 0; for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  bs.forEach((b, i) => { BYTE[b] = String.fromCharCode(cs[i]!); }); }
const enc = new TextEncoder();
function pre(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(RE)) {
    const w = m[0]; let s = '';
    if (/^[\x00-\x7f]*$/.test(w)) { for (let i = 0; i < w.length; i++) s += BYTE[w.charCodeAt(i)]; }
    else for (const b of enc.encode(w)) s += BYTE[b];
    out.push(s);
  }
  return out;
}
const lines = readFileSync('/tmp/corpus.txt', 'utf8').split(/(?<=\n)/);
const hf = byteLevelPreTokenizer(false, true);
let t = Date.now(); let a = 0; for (const l of lines) a += hf.preTokenizeString(l).length; console.log('hf', Date.now() - t, a);
t = Date.now(); let b = 0; for (const l of lines) b += pre(l).length; console.log('js', Date.now() - t, b);
let bad = 0;
const rand = () => { let s = ''; const n = Math.random() * 30 | 0; for (let i = 0; i < n; i++) { const r = Math.random(); s += r < 0.3 ? ' ' : r < 0.4 ? '\n' : r < 0.5 ? String.fromCodePoint(Math.random() * 0x2ffff | 0) : r < 0.6 ? "'" : r < 0.7 ? String.fromCharCode(Math.random()*128|0) : 'ab1é'[Math.random()*4|0]; } return s.replace(/[\uD800-\uDFFF]/g, (c, i, str) => c); };
for (let i = 0; i < 20000; i++) { const s = rand().toWellFormed ? rand() : rand(); const x = hf.preTokenizeString(s).map((p) => p[0]); const y = pre(s); if (x.join('\u0001') !== y.join('\u0001')) { if (bad++ < 5) console.log(JSON.stringify(s), x, y); } }
for (const l of lines) { const x = hf.preTokenizeString(l).map((p) => p[0]); const y = pre(l); if (x.join('\u0001') !== y.join('\u0001')) { if (bad++ < 10) console.log(JSON.stringify(l)); } }
console.log('bad', bad, byteLevelAlphabet().length);
