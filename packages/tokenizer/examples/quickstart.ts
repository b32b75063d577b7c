import { Tokenizer, trainBpeTokenizer } from '@loralab/tokenizer';

const texts = ['The cat sat on the mat.', 'The dog sat on the log.', 'A cat and a dog.'].flatMap((t) =>
  Array(50).fill(t),
);
const tok = await trainBpeTokenizer({ texts, vocabSize: 300 }); // byte-level BPE + ChatML special tokens
await tok.save('/tmp/my-tokenizer'); // tokenizer.json + tokenizer_config.json, loadable by transformers

const enc = await tok.encode('The cat sat.', { addSpecialTokens: true });
console.log(enc.ids, enc.tokens, enc.offsets);
const chat = await tok.encodeChat([
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'A cat.' },
]);
console.log(
  chat.text,
  chat.assistantSpans,
  await tok.decode(chat.ids.slice(chat.assistantSpans[0]!.start, chat.assistantSpans[0]!.end)),
);
console.log((await Tokenizer.fromPretrained('/tmp/my-tokenizer')).vocabSize);
