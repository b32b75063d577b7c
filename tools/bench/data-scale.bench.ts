// Data at scale, measured: >= 100M tokens from a streamed source (no corpus in memory, no JSONL copy) into >= 30
// shards, against the bare `tokenizers` encodeBatch on the same documents in the same run, RSS sampled every second,
// the written dataset verified (sha256 of every shard, row/token counts, sampled rows decoded back to their source),
// the projection to 10B tokens; then 100K instruction conversations on one thread and on the worker pool.
// Each phase runs in its own child process, so its RSS and CPU time are its own.
// Run: npx tsx --conditions=@loralab/source tools/bench/data-scale.bench.ts
// Sizes: BENCH_TOKENS (default 100e6), BENCH_SHARD_TOKENS (default 3e6), BENCH_CONVERSATIONS (default 100000),
// BENCH_CHAT_ROUNDS (one-thread/pool pairs, default 2), BENCH_BARE_AFTER (share of the documents the bare tokenizer
// encodes again after the writer, default 0.25). BENCH_ONLY=text or BENCH_ONLY=chat runs one part.
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@loralab/tokenizer';
import { Tokenizer as RawTokenizer } from 'tokenizers';
import {
  brownDocument,
  brownFiles,
  generateCodeCorpus,
  generateMathProblems,
  mathProblemText,
  permutation,
  readManifest,
  readShard,
  writeTokenizedDataset,
} from '../../packages/data/src/index.js';

const TARGET_TOKENS = Number(process.env.BENCH_TOKENS ?? 100e6);
const SHARD_TOKENS = Number(process.env.BENCH_SHARD_TOKENS ?? 3e6);
const CONVERSATIONS = Number(process.env.BENCH_CONVERSATIONS ?? 100_000);
const CHAT_ROUNDS = Number(process.env.BENCH_CHAT_ROUNDS ?? 2);
const BARE_AFTER = Number(process.env.BENCH_BARE_AFTER ?? 0.25);
// Granite 3's tokenizer: byte-level BPE, vocab 49,155 (uint16 shards), an EOS token and a chat template.
const TOKENIZER = join(import.meta.dirname, '../../../shared/data/tokenizers/granite-3');
const BATCH = 1024; // documents per encodeBatch call: the writer's default encodeBatchSize
const BATCH_CHARS = 2 ** 22; // characters per call: the writer's default encodeBatchChars
const MATH_PER_CYCLE = 4000;
const CODE_PER_CYCLE = 4000;
const MiB = 2 ** 20;
const fmt = (x: number, digits = 2) => x.toLocaleString('en-US', { maximumFractionDigits: digits });
const load = () =>
  loadavg()
    .map((x) => fmt(x, 1))
    .join(' ');
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

// ---------------------------------------------------------------------------------------------------------------
// The streamed corpus: cycle k yields the 500 Brown documents in a k-seeded order, then 4,000 GSM8K-style
// problems and 4,000 Python functions generated with seed k; documents are made as they are read.

let brownCache: string[] | null = null;
async function brown(): Promise<string[]> {
  brownCache ??= await Promise.all((await brownFiles()).map(brownDocument));
  return brownCache;
}

async function* corpus(cycles: number): AsyncGenerator<string> {
  const docs = await brown();
  for (let k = 0; k < cycles; k++) {
    for (const i of permutation(docs.length, 1000 + k)) yield docs[i]!;
    for (const p of generateMathProblems({ split: 'train', count: MATH_PER_CYCLE, seed: 1000 + k }))
      yield mathProblemText(p);
    yield* generateCodeCorpus({ count: CODE_PER_CYCLE, seed: 1000 + k });
  }
}

/** The conversations of the instruction phase, generated as they are read (Alpaca-style records). */
function* conversations(count: number): Generator<{ instruction: string; output: string }> {
  for (const p of generateMathProblems({ split: 'train', count, seed: 7 }))
    yield { instruction: p.question, output: p.answer };
}

type Result = Record<string, unknown>;

/** Samples this process's RSS every second; the timer runs on the event loop, which the writer yields often. */
function rssSampler() {
  const t0 = performance.now();
  const samples: Array<[number, number]> = [];
  const sample = () => samples.push([(performance.now() - t0) / 1000, process.memoryUsage.rss() / MiB]);
  sample();
  const timer = setInterval(sample, 1000);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return samples;
    },
  };
}

const PHASES: Record<string, (work: string, cycles: number) => Promise<Result>> = {
  async write(work, cycles) {
    const tok = await Tokenizer.fromPretrained(TOKENIZER);
    await brown();
    const rss = rssSampler();
    const c0 = cpuSeconds();
    const t0 = performance.now();
    const { manifest } = await writeTokenizedDataset(tok, {
      outDir: join(work, 'tokenized'),
      source: { kind: 'stream', name: `bench-corpus-${cycles}`, records: () => corpus(cycles) },
      shardTokens: SHARD_TOKENS,
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds() - c0;
    const m = manifest!;
    return {
      tokens: m.totals.tokens,
      rows: m.totals.rows,
      shards: m.totals.shards,
      bytes: m.totals.bytes,
      seconds,
      cpu,
      rss: rss.stop(),
      peakRss: (process.resourceUsage().maxRSS * 1024) / MiB,
    };
  },
  async bare(_work, cycles) {
    // The raw Hugging Face binding, loaded from the same tokenizer.json; batches cut as the writer cuts them.
    // Only encodeBatch + getIds is timed: generating the documents is timed apart.
    const raw = RawTokenizer.fromFile(join(TOKENIZER, 'tokenizer.json'));
    await brown();
    await raw.encodeBatch(['warm up'], { addSpecialTokens: false });
    const rss = rssSampler();
    let encodeSeconds = 0;
    let encodeCpu = 0;
    let tokens = 0;
    let docs = 0;
    const t0 = performance.now();
    let batch: string[] = [];
    let chars = 0;
    const flush = async () => {
      const c0 = cpuSeconds();
      const s0 = performance.now();
      for (const e of await raw.encodeBatch(batch, { addSpecialTokens: false })) tokens += e.getIds().length;
      encodeSeconds += (performance.now() - s0) / 1000;
      encodeCpu += cpuSeconds() - c0;
      docs += batch.length;
      batch = [];
      chars = 0;
    };
    for await (const text of corpus(cycles)) {
      batch.push(text);
      chars += text.length;
      if (batch.length >= BATCH || chars >= BATCH_CHARS) await flush();
    }
    if (batch.length) await flush();
    return {
      tokens,
      docs,
      seconds: encodeSeconds,
      cpu: encodeCpu,
      totalSeconds: (performance.now() - t0) / 1000,
      rss: rss.stop(),
    };
  },
  async verify(work, cycles) {
    const dir = join(work, 'tokenized');
    const m = await readManifest(dir);
    const tok = await Tokenizer.fromPretrained(TOKENIZER);
    const t0 = performance.now();
    let rows = 0;
    let tokens = 0;
    let shaOk = 0;
    // Each shard: sha256 of the file, hashed here, against the manifest; then read back (rows and tokens).
    const rowStarts: number[] = [];
    for (const s of m.shards) {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(join(dir, s.file))) hash.update(chunk as Buffer);
      if (hash.digest('hex') === s.sha256) shaOk++;
      const d = await readShard(join(dir, s.file), s);
      if (d.rows !== s.rows || d.offsets[d.rows] !== s.tokens)
        throw new Error(
          `${s.file}: ${d.rows} rows / ${d.offsets[d.rows]} tokens, manifest says ${s.rows} / ${s.tokens}`,
        );
      rowStarts.push(rows);
      rows += d.rows;
      tokens += d.offsets[d.rows]!;
    }
    // 64 rows spread over the whole dataset, plus the first and the last: decoded, they must equal the source.
    const picks = new Set<number>([0, rows - 1]);
    for (let i = 0; i < 64; i++) picks.add(Math.floor(((i + 0.5) * rows) / 64));
    let sourceDocs = 0;
    let decodedOk = 0;
    const eos = tok.eos!.id;
    let i = 0;
    for await (const text of corpus(cycles)) {
      if (picks.has(i)) {
        let k = rowStarts.length - 1;
        while (rowStarts[k]! > i) k--;
        const s = m.shards[k]!;
        const d = await readShard(join(dir, s.file), s, { verify: false });
        const r = i - rowStarts[k]!;
        const ids = Array.from(d.values.subarray(d.offsets[r]!, d.offsets[r + 1]!));
        if (ids.at(-1) === eos && (await tok.decode(ids.slice(0, -1))) === text) decodedOk++;
      }
      i++;
      sourceDocs++;
    }
    return {
      shards: m.shards.length,
      shaOk,
      rows,
      tokens,
      manifestRows: m.totals.rows,
      manifestTokens: m.totals.tokens,
      sourceDocs,
      sampled: picks.size,
      decodedOk,
      seconds: (performance.now() - t0) / 1000,
    };
  },
  async chat(work) {
    const threads = Number(process.env.BENCH_CHAT_THREADS);
    const tok = await Tokenizer.fromPretrained(TOKENIZER);
    const outDir = join(work, `chat-${threads}-${process.env.BENCH_CHAT_ROUND}`);
    const c0 = cpuSeconds();
    const t0 = performance.now();
    const m = (
      await writeTokenizedDataset(tok, {
        outDir,
        source: { kind: 'stream', name: 'math-conversations', records: () => conversations(CONVERSATIONS) },
        kind: 'chat',
        chatThreads: threads,
      })
    ).manifest!;
    const seconds = (performance.now() - t0) / 1000;
    const result = {
      rows: m.totals.rows,
      tokens: m.totals.tokens,
      seconds,
      cpu: cpuSeconds() - c0,
      peakRss: (process.resourceUsage().maxRSS * 1024) / MiB,
      shardSha: m.shards.map((s) => s.sha256).join(','),
    };
    rmSync(outDir, { recursive: true, force: true });
    return result;
  },
};

function runPhase(phase: string, work: string, cycles: number, env: Record<string, string> = {}) {
  return new Promise<Result>((resolve, reject) => {
    const child = fork(import.meta.filename, [phase, work, String(cycles)], {
      execArgv: process.execArgv,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').at(-1)!))
        : reject(new Error(`phase ${phase} exited ${code}`)),
    );
  });
}

/** RSS at fractions of the run, from samples `[seconds, MiB]`. */
function rssAt(samples: Array<[number, number]>, f: number): number {
  const end = samples.at(-1)![0];
  return samples.find(([t]) => t >= f * end)?.[1] ?? samples.at(-1)![1];
}

function rssSummary(samples: Array<[number, number]>): string {
  const mib = samples.map(([, m]) => m);
  const series = [0.1, 0.25, 0.5, 0.75, 1].map((f) => `${f * 100}%: ${fmt(rssAt(samples, f), 0)}`);
  return `${samples.length} samples, min ${fmt(Math.min(...mib), 0)} / max ${fmt(Math.max(...mib), 0)} MiB; at ${series.join(', ')} MiB`;
}

async function textPart(work: string): Promise<void> {
  // Cycles to reach TARGET_TOKENS: from the tokens of cycle 0 (generated cycles vary by a few percent), +3%.
  const tok = await Tokenizer.fromPretrained(TOKENIZER);
  const first: string[] = [];
  for await (const d of corpus(1)) first.push(d);
  const cycleTokens =
    (await tok.encodeBatch(first, { addSpecialTokens: false })).reduce((s, e) => s + e.length, 0) +
    first.length;
  const cycles = Math.ceil((TARGET_TOKENS * 1.03) / cycleTokens);
  console.log(
    `streamed corpus: ${cycles} cycles of (500 Brown documents in a seeded order + ${MATH_PER_CYCLE} GSM8K-style problems + ${CODE_PER_CYCLE} Python functions, seeded per cycle), about ${fmt(cycleTokens, 0)} tokens per cycle; target ${fmt(TARGET_TOKENS, 0)} tokens, shards of ${fmt(SHARD_TOKENS, 0)} tokens, under ${work}`,
  );

  console.log(`[${new Date().toISOString()}] bare encodeBatch (before), load ${load()}`);
  const bare1 = await runPhase('bare', work, cycles);
  console.log(`[${new Date().toISOString()}] writer, load ${load()}`);
  const write = await runPhase('write', work, cycles);
  const writeLoad = load();
  console.log(`[${new Date().toISOString()}] bare encodeBatch (after), load ${writeLoad}`);
  // After the writer, the bare tokenizer again on the first quarter of the documents, to bracket load changes.
  const afterCycles = Math.max(1, Math.ceil(cycles * BARE_AFTER));
  const bare2 = await runPhase('bare', work, afterCycles);
  console.log(`[${new Date().toISOString()}] verify, load ${load()}`);
  const verify = await runPhase('verify', work, cycles);

  const n = (r: Result, k: string) => r[k] as number;
  const bareRate = (n(bare1, 'tokens') + n(bare2, 'tokens')) / (n(bare1, 'seconds') + n(bare2, 'seconds'));
  const writeRate = n(write, 'tokens') / n(write, 'seconds');
  const rss = write.rss as Array<[number, number]>;
  console.log(
    `bare tokenizers encodeBatch + getIds (raw binding, batches of <= ${BATCH} docs / 2^22 chars, generation not timed): ${fmt(n(bare1, 'tokens'), 0)} tokens at ${fmt(n(bare1, 'tokens') / n(bare1, 'seconds') / 1e6, 3)} and ${fmt(n(bare2, 'tokens') / n(bare2, 'seconds') / 1e6, 3)} M tokens/s (all documents before the writer; the first ${fmt(BARE_AFTER * 100, 0)}% after it); mean ${fmt(bareRate / 1e6, 3)}; ${fmt((n(bare1, 'cpu') + n(bare2, 'cpu')) / (n(bare1, 'seconds') + n(bare2, 'seconds')))} cores busy; generating the documents took ${fmt(n(bare1, 'totalSeconds') - n(bare1, 'seconds'), 1)} s of ${fmt(n(bare1, 'totalSeconds'), 1)} s`,
  );
  console.log(
    `writer (stream -> ${write.shards} shards, EOS per document, sha256, fsync, manifest): ${fmt(n(write, 'tokens'), 0)} tokens, ${fmt(n(write, 'rows'), 0)} rows in ${fmt(n(write, 'seconds'), 1)} s = ${fmt(writeRate / 1e6, 3)} M tokens/s; ${fmt(n(write, 'cpu') / n(write, 'seconds'))} cores busy; ${fmt(n(write, 'bytes') / MiB, 0)} MiB on disk`,
  );
  console.log(`writer / bare encodeBatch: ${fmt(writeRate / bareRate, 3)}`);
  console.log(
    `per CPU second: bare ${fmt((n(bare1, 'tokens') + n(bare2, 'tokens')) / (n(bare1, 'cpu') + n(bare2, 'cpu')) / 1e6, 3)}, writer ${fmt(n(write, 'tokens') / n(write, 'cpu') / 1e6, 3)} M tokens/CPU-s`,
  );
  console.log(`writer RSS: ${rssSummary(rss)}; peak (maxrss) ${fmt(n(write, 'peakRss'), 0)} MiB`);
  console.log(
    `writer RSS series (every ~10th sample, MiB): ${rss
      .filter((_, i) => i % 10 === 0)
      .map(([, m]) => fmt(m, 0))
      .join(' ')}`,
  );
  console.log(`bare RSS: ${rssSummary(bare1.rss as Array<[number, number]>)}`);
  const tokensOk =
    n(bare1, 'tokens') + n(bare1, 'docs') === n(write, 'tokens') && n(bare1, 'docs') === n(write, 'rows');
  console.log(
    `check: writer tokens = bare tokens + one EOS per document: ${tokensOk ? 'yes' : 'NO'} (${fmt(n(bare1, 'tokens'), 0)} + ${fmt(n(bare1, 'docs'), 0)} vs ${fmt(n(write, 'tokens'), 0)})`,
  );
  console.log(
    `verify: ${verify.shaOk}/${verify.shards} shard sha256 match the manifest; rows ${fmt(n(verify, 'rows'), 0)} (manifest ${fmt(n(verify, 'manifestRows'), 0)}, source documents ${fmt(n(verify, 'sourceDocs'), 0)}); tokens ${fmt(n(verify, 'tokens'), 0)} (manifest ${fmt(n(verify, 'manifestTokens'), 0)}); ${verify.decodedOk}/${verify.sampled} sampled rows decode to their source document; ${fmt(n(verify, 'seconds'), 1)} s`,
  );
  const ok =
    tokensOk &&
    verify.shaOk === verify.shards &&
    verify.rows === verify.manifestRows &&
    verify.rows === verify.sourceDocs &&
    verify.tokens === verify.manifestTokens &&
    verify.decodedOk === verify.sampled;
  console.log(`dataset verified: ${ok ? 'yes' : 'NO'}`);
  const bytesPerToken = n(write, 'bytes') / n(write, 'tokens');
  const cores = availableParallelism();
  console.log(
    `projection for 10B tokens: ${fmt(10e9 / writeRate / 3600, 1)} h at the measured wall rate (load ${writeLoad} at the end of the writer), ${fmt(10e9 / ((n(write, 'tokens') / n(write, 'cpu')) * cores) / 3600, 1)} h with all ${cores} cores free (tokens per CPU second x cores); ${fmt((10e9 * bytesPerToken) / 2 ** 30, 1)} GiB of shards (${fmt(bytesPerToken, 3)} bytes/token), ${fmt(Math.ceil(10e9 / SHARD_TOKENS), 0)} shards of ${fmt(SHARD_TOKENS, 0)} tokens; RSS stays at the level above (it does not grow with tokens)`,
  );
}

async function chatPart(work: string): Promise<void> {
  const pool = Math.max(2, Math.min(availableParallelism(), 8));
  const runs: Record<string, number[]> = { '0': [], [pool]: [] };
  let sha = '';
  for (let round = 0; round < CHAT_ROUNDS; round++) {
    for (const threads of ['0', String(pool)]) {
      const before = load();
      const r = await runPhase('chat', work, 0, {
        BENCH_CHAT_THREADS: threads,
        BENCH_CHAT_ROUND: String(round),
      });
      const n = (k: string) => r[k] as number;
      runs[threads]!.push(n('seconds'));
      if (sha && sha !== r.shardSha) throw new Error('the pool wrote other shards than one thread');
      sha = r.shardSha as string;
      console.log(
        `instruction data (stream of generated GSM8K-style conversations, granite-3 chat template, assistant-only loss masks), chatThreads ${threads}, round ${round + 1}: ${fmt(n('rows'), 0)} conversations, ${fmt(n('tokens'), 0)} tokens in ${fmt(n('seconds'))} s = ${fmt(n('rows') / n('seconds'), 0)} conversations/s; ${fmt(n('cpu') / n('seconds'))} cores busy; peak RSS ${fmt(n('peakRss'), 0)} MiB; load ${before} -> ${load()}`,
      );
    }
  }
  // Runs alternate, so each round's pair saw about the same load; the ratio per round is the fair figure.
  const ratios = runs['0']!.map((t, i) => t / runs[pool]![i]!);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  console.log(
    `instruction data, pool of ${pool} worker threads vs one thread: speed-up per round ${ratios.map((r) => `${fmt(r, 2)}x`).join(', ')}; over all rounds ${fmt(sum(runs['0']!), 1)} s vs ${fmt(sum(runs[pool]!), 1)} s = ${fmt(sum(runs['0']!) / sum(runs[pool]!), 2)}x; shards identical: yes`,
  );
}

async function main() {
  const [phase, workArg, cyclesArg] = process.argv.slice(2);
  if (phase) {
    console.log(JSON.stringify(await PHASES[phase]!(workArg!, Number(cyclesArg))));
    return;
  }
  if (!existsSync(TOKENIZER)) {
    console.log(`skipped: needs ${TOKENIZER} (the ../shared folder)`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'loralab-data-scale-'));
  try {
    console.log(
      `@loralab/data at scale: ${cpus().length} cores (${cpus()[0]?.model}), Node ${process.version}, load average ${load()}, started ${new Date().toISOString()}`,
    );
    if (process.env.BENCH_ONLY !== 'chat') await textPart(work);
    if (process.env.BENCH_ONLY !== 'text') await chatPart(work);
    console.log(`load average at the end: ${load()}, ${new Date().toISOString()}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
