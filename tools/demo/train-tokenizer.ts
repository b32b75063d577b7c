// The main job until the `loralab` command exists: train a byte-level BPE tokenizer on the built-in
// English corpus (the Brown Corpus), save it in Hugging Face format, and show what it does.
// Run: npm run demo [-- --vocab-size 8192 --out runs/tokenizer]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ChatMessage, Tokenizer, trainBpeTokenizer } from '@loralab/tokenizer';
import { brownDocuments } from '../corpus/brown.ts';

const { values } = parseArgs({
  options: {
    'vocab-size': { type: 'string', default: '8192' },
    'min-frequency': { type: 'string', default: '2' },
    out: { type: 'string', default: 'runs/tokenizer' },
  },
});
const vocabSize = Number(values['vocab-size']);
const out = values.out!;

const start = performance.now();
let documents = 0;
let bytes = 0;
async function* corpus() {
  for await (const doc of brownDocuments()) {
    documents++;
    bytes += Buffer.byteLength(doc);
    yield* doc.split(/(?<=\n)/); // one sentence per text, as a line-by-line file trainer reads
  }
}
const tokenizer = await trainBpeTokenizer({
  texts: corpus(),
  vocabSize,
  minFrequency: Number(values['min-frequency']),
});
const seconds = (performance.now() - start) / 1000;
await tokenizer.save(out);
console.log(
  `Trained a byte-level BPE tokenizer on the Brown Corpus (${documents} documents, ${(bytes / 1e6).toFixed(1)} MB) in ${seconds.toFixed(1)} s`,
);
console.log(
  `  vocabulary: ${tokenizer.vocabSize} tokens; special: ${[...tokenizer.specialTokens.keys()].join(' ')}`,
);
console.log(
  `  saved: ${join(out, 'tokenizer.json')}, ${join(out, 'tokenizer_config.json')} (Hugging Face format)`,
);

// Compression on the corpus itself, and on a sentence it has not seen.
let tokens = 0;
let words = 0;
const sample: string[] = [];
for await (const doc of brownDocuments()) {
  sample.push(doc);
  if (sample.length === 50) break;
}
for (const enc of await tokenizer.encodeBatch(sample, { addSpecialTokens: false })) tokens += enc.length;
for (const doc of sample) words += doc.split(/\s+/).filter(Boolean).length;
console.log(`  compression on 50 Brown documents: ${(tokens / words).toFixed(2)} tokens/word`);

const text = 'The finetuned model forgets less of its source domain.';
const enc = await tokenizer.encode(text, { addSpecialTokens: true });
console.log(`\nencode(${JSON.stringify(text)}, { addSpecialTokens: true })`);
console.log(`  ids:    [${enc.ids.join(', ')}]`);
console.log(`  tokens: ${enc.tokens.map((t) => JSON.stringify(t)).join(' ')}`);
console.log(`  decode: ${JSON.stringify(await tokenizer.decode(enc.ids, { skipSpecialTokens: true }))}`);

const chat: ChatMessage[] = [
  { role: 'user', content: 'What is 12 times 4?' },
  { role: 'assistant', content: '12 * 4 = 48. #### 48' },
];
const encoded = await tokenizer.encodeChat(chat);
const marked = encoded.ids.map((id, i) => {
  const piece = tokenizer.idToToken(id) ?? '?';
  return encoded.assistantMask[i] ? `[${piece}]` : piece;
});
console.log(
  '\nencodeChat: ChatML template; [bracketed] tokens are the assistant turn, the only ones trained on',
);
console.log(`  ${marked.join(' ')}`);

// The saved folder loads back unchanged.
const reloaded = await Tokenizer.fromPretrained(out);
const same = (await reloaded.encode(text, { addSpecialTokens: true })).ids.join() === enc.ids.join();
console.log(`\nreloaded from ${out}: ${same ? 'same ids' : 'DIFFERENT ids'}`);
if (!same) process.exit(1);
