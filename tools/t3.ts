import { readFileSync, writeFileSync } from 'node:fs';
import { Tokenizer as Raw, BPE, byteLevelPreTokenizer } from 'tokenizers';
import { countWords, learnBpeMerges } from '@loralab/tokenizer';
import { brownDocuments } from './corpus/brown.ts';
let text = ''; let n = 0;
for await (const d of brownDocuments()) { text += d; if (++n >= Number(process.argv[2] ?? 20)) break; }
writeFileSync('/tmp/corpus.txt', text);
const raw = new Raw(BPE.empty());
raw.setPreTokenizer(byteLevelPreTokenizer(false, true));
let t = Date.now();
raw.train(['/tmp/corpus.txt']);
console.log('hf train ms', Date.now() - t, raw.getVocabSize());
raw.save('/tmp/hf.json');
t = Date.now();
const words = await countWords({ files: ['/tmp/corpus.txt'] });
const t1 = Date.now();
const { vocab, merges } = learnBpeMerges(words, { vocabSize: 30000, minFrequency: 0, specialTokens: [], initialAlphabet: [] });
console.log('ours ms count', t1 - t, 'merge', Date.now() - t1, vocab.size);
const hf = JSON.parse(readFileSync('/tmp/hf.json', 'utf8'));
const hv = hf.model.vocab; let diff = 0;
for (const [k, v] of vocab) if (hv[k] !== v) { if (diff++ < 5) console.log('vocab diff', k, v, hv[k]); }
console.log('vocab diffs', diff, Object.keys(hv).length);
const hm = hf.model.merges.map((m: any) => Array.isArray(m) ? m.join(' ') : m);
let md = 0; for (let i = 0; i < Math.max(hm.length, merges.length); i++) if (hm[i] !== merges[i]?.join(' ')) { if (md++ < 5) console.log('merge diff', i, hm[i], merges[i]); }
console.log('merge diffs', md, hm.length, merges.length);
