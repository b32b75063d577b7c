// Quickstart of @loralab/data: tokenize a corpus into shards, stream packed batches, resume, and check masks.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DataLoader,
  formatBatchExample,
  generateMathProblems,
  mathProblemText,
  writeTokenizedDataset,
} from '@loralab/data';
import { trainBpeTokenizer } from '@loralab/tokenizer';

const dir = mkdtempSync(join(tmpdir(), 'loralab-quickstart-'));
const texts = [...generateMathProblems({ split: 'train', count: 500 })].map(mathProblemText);
const tok = await trainBpeTokenizer({ texts, vocabSize: 600 }); // byte-level BPE with a ChatML template

// Continued pretraining: the Brown corpus (humor section) to Arrow shards, then packed, shuffled batches.
const { manifest } = await writeTokenizedDataset(tok, {
  outDir: join(dir, 'brown'),
  source: { kind: 'brown', categories: ['r'] },
  shardTokens: 40_000,
});
console.log(manifest!.totals, manifest!.shards[0]);
const loader = await DataLoader.open(join(dir, 'brown'), { seqLen: 256, batchSize: 4, seed: 1, epochs: 2 });
const batches = loader.batches();
const first = (await batches.next()).value!;
const second = (await batches.next()).value!;
const resumed = (await loader.batches(first.state).next()).value!; // e.g. after a restart from a checkpoint
console.log(
  first.state,
  resumed.inputIds.every((x: number, i: number) => x === second.inputIds[i]),
);

// Instruction data: GSM8K-style problems as conversations, trained on assistant turns only.
const chat = [...generateMathProblems({ split: 'train', count: 100 })].map((p) => ({
  instruction: p.question,
  output: p.answer,
}));
const { writeFileSync } = await import('node:fs');
writeFileSync(join(dir, 'math.json'), JSON.stringify(chat));
await writeTokenizedDataset(tok, {
  outDir: join(dir, 'math'),
  source: { kind: 'json', paths: [join(dir, 'math.json')] },
  kind: 'chat',
});
const ift = await DataLoader.open(join(dir, 'math'), {
  mode: 'rows',
  seqLen: 256,
  batchSize: 2,
  shuffle: false,
});
console.log(await formatBatchExample(tok, (await ift.batches().next()).value!, 0));
