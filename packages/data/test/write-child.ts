// Child process for the kill test: writes Brown with small shards and prints a line after each shard.
import { Tokenizer } from '@loralab/tokenizer';
import { writeTokenizedDataset } from '../src/write-dataset.js';

const [tokDir, outDir] = process.argv.slice(2);
const tok = await Tokenizer.fromPretrained(tokDir!);
await writeTokenizedDataset(
  tok,
  { outDir: outDir!, source: { kind: 'brown', categories: ['r'] }, shardTokens: 5_000, encodeBatchSize: 1 },
  {
    onShard: (s) => {
      console.log(`shard ${s.file}`);
      // Linger after each shard so that the parent's SIGKILL lands in the middle of the run.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    },
  },
);
console.log('done');
