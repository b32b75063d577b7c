// Benchmark of @loralab/cli: what the command adds over calling the packages directly, measured in the same run.
// (1) start-up: `loralab --help` against a bare `node -e 0` and against importing the packages the command runs;
// (2) `data prepare` of the Brown corpus through main() against writeTokenizedDataset with the same settings;
// (3) `eval humaneval --samples` through main() against evaluateFunctionalCorrectness on the same files.
// Run: npm run bench -w @loralab/cli   (or: npx tsx --conditions=@loralab/source tools/bench/cli.ts)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '@loralab/cli';
import { generateCodeTasks, writeTokenizedDataset } from '@loralab/data';
import { evaluateFunctionalCorrectness } from '@loralab/eval';
import { Tokenizer } from '@loralab/tokenizer';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const root = new URL('../../', import.meta.url).pathname;
const tsx = join(root, 'node_modules/.bin/tsx');
const dir = mkdtempSync(join(tmpdir(), 'loralab-cli-bench-'));
const quiet = { stdout: { write: () => true }, stderr: { write: () => true }, tty: false };

async function best(f: () => unknown): Promise<number> {
  let ms = Number.POSITIVE_INFINITY;
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    await f();
    ms = Math.min(ms, performance.now() - t);
  }
  return ms;
}
const spawnMs = (cmd: string, args: string[]) =>
  best(() => {
    const r = spawnSync(cmd, args, { cwd: root, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  });
const row = (what: string, ms: number, extra = '') =>
  console.log(`${what.padEnd(58)} ${(ms / 1000).toFixed(3).padStart(8)} s${extra}`);

// (1) start-up
const built = existsSync(join(root, 'packages/cli/dist/main.js'));
console.log(`start-up (best of ${ROUNDS})`);
const bare = await spawnMs(process.execPath, ['-e', '0']);
row('node -e 0', bare);
if (built) {
  const help = await spawnMs(process.execPath, ['packages/cli/bin/loralab.js', '--help']);
  row(
    'node packages/cli/bin/loralab.js --help (built)',
    help,
    `  (+${(help - bare).toFixed(0)} ms over node)`,
  );
}
const tsxBare = await spawnMs(tsx, ['-e', '0']);
row('tsx -e 0', tsxBare);
const tsxHelp = await spawnMs(tsx, ['--conditions=@loralab/source', 'packages/cli/src/main.ts', '--help']);
row(
  'tsx packages/cli/src/main.ts --help (sources)',
  tsxHelp,
  `  (+${(tsxHelp - tsxBare).toFixed(0)} ms over tsx)`,
);

// (2) data prepare
const tokDir = join(dir, 'tok');
await main(['tokenizer', 'train', '--corpus', 'brown', '--vocab-size', '4096', '-o', tokDir, '-q'], quiet);
const tokenizer = await Tokenizer.fromPretrained(tokDir);
let n = 0;
const viaCli = await best(() =>
  main(['data', 'prepare', '-t', tokDir, '--corpus', 'brown', '-o', join(dir, `cli-${n++}`), '-q'], quiet),
);
const direct = await best(() =>
  writeTokenizedDataset(tokenizer, { outDir: join(dir, `lib-${n++}`), source: { kind: 'brown' } }),
);
console.log(`\ndata prepare, Brown corpus to shards (best of ${ROUNDS})`);
row('writeTokenizedDataset', direct);
row('loralab data prepare (main)', viaCli, `  ratio ${(viaCli / direct).toFixed(3)}`);

// (3) eval humaneval --samples
const problems = [...generateCodeTasks({ split: 'test', count: 20, seed: 0 })];
const problemFile = join(dir, 'problems.jsonl');
const samplesFile = join(dir, 'samples.jsonl');
writeFileSync(problemFile, problems.map((p) => JSON.stringify(p)).join('\n'));
writeFileSync(
  samplesFile,
  problems.map((p) => JSON.stringify({ task_id: p.task_id, completion: p.canonical_solution })).join('\n'),
);
const evalDirect = await best(() => evaluateFunctionalCorrectness(samplesFile, problemFile));
const evalCli = await best(() =>
  main(['eval', 'humaneval', '--samples', samplesFile, '--problems', problemFile, '-q'], quiet),
);
console.log(`\neval humaneval --samples, ${problems.length} generated problems (best of ${ROUNDS})`);
row('evaluateFunctionalCorrectness', evalDirect);
row('loralab eval humaneval --samples (main)', evalCli, `  ratio ${(evalCli / evalDirect).toFixed(3)}`);
rmSync(dir, { recursive: true, force: true });
