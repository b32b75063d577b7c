// Benchmark of @loralab/data: shard writing against the bare tokenizer's batched throughput (same texts, same
// cores, same run), writer peak RSS, loader throughput, and 100K instruction conversations to masked shards.
// Each phase runs in its own child process, so its peak RSS (getrusage maxrss) is its own.
// Run: npx tsx --conditions=@loralab/source tools/bench/data.bench.ts
// Sizes: BENCH_TOKENS (target corpus tokens, default 20e6), BENCH_CONVERSATIONS (default 100000).
// BENCH_ONLY=chat runs only the instruction-data phases (in this thread, then on a worker pool).
import { fork } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@loralab/tokenizer';
import {
  brownDocument,
  brownFiles,
  DataLoader,
  generateMathProblems,
  writeTokenizedDataset,
} from '../../packages/data/src/index.js';

const TARGET_TOKENS = Number(process.env.BENCH_TOKENS ?? 20e6);
const CONVERSATIONS = Number(process.env.BENCH_CONVERSATIONS ?? 100_000);
// Granite 3's tokenizer: byte-level BPE, vocab 49,155 (uint16 shards), an EOS token and a chat template.
const TOKENIZER = join(import.meta.dirname, '../../../shared/data/tokenizers/granite-3');
const BATCH = 1024; // documents per encodeBatch call, the writer's default
const BATCH_CHARS = 2 ** 22; // characters per encodeBatch call, the writer's default
const MiB = 2 ** 20;
const fmt = (x: number, digits = 2) => x.toLocaleString('en-US', { maximumFractionDigits: digits });
const peakRssMiB = () => (process.resourceUsage().maxRSS * 1024) / MiB;
/** CPU seconds (user + system, all threads) this process has used: with the machine shared, wall time
 * depends on the load; tokens per CPU second does much less. */
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

type Result = Record<string, number>;

/** Phases, each run in a child process: `[phase, workDir]` in argv, one JSON result on stdout's last line. */
const PHASES: Record<string, (work: string, tok: Tokenizer) => Promise<Result>> = {
  async bare(work, tok) {
    // The same documents the writer reads, loaded into memory first; only encodeBatch is timed.
    const corpus = join(work, 'corpus');
    const texts = readdirSync(corpus)
      .sort()
      .flatMap((f) => readFileSync(join(corpus, f), 'utf8').trimEnd().split('\n'))
      .map((line) => (JSON.parse(line) as { text: string }).text);
    await tok.encodeBatch(texts.slice(0, 64), { addSpecialTokens: false });
    const c0 = cpuSeconds();
    const t0 = performance.now();
    let tokens = 0;
    // Batches cut as the writer cuts them: at most BATCH documents and about BATCH_CHARS characters.
    for (let i = 0; i < texts.length; ) {
      let j = i;
      let chars = 0;
      while (j < texts.length && j - i < BATCH && chars < BATCH_CHARS) chars += texts[j++]!.length;
      for (const e of await tok.encodeBatch(texts.slice(i, j), { addSpecialTokens: false }))
        tokens += e.ids.length;
      i = j;
    }
    return {
      tokens,
      seconds: (performance.now() - t0) / 1000,
      cpu: cpuSeconds() - c0,
      peakRss: peakRssMiB(),
    };
  },
  async write(work, tok) {
    const rss: number[] = [];
    const c0 = cpuSeconds();
    const t0 = performance.now();
    const { manifest } = await writeTokenizedDataset(
      tok,
      {
        outDir: join(work, 'tokenized'),
        source: { kind: 'jsonl', paths: [join(work, 'corpus')] },
        shardTokens: 2 ** 22,
        encodeBatchSize: BATCH,
      },
      { onShard: () => rss.push(process.memoryUsage.rss() / MiB) },
    );
    const m = manifest!;
    const at = (f: number) => rss[Math.min(rss.length - 1, Math.floor(f * rss.length))] ?? 0;
    return {
      tokens: m.totals.tokens,
      rows: m.totals.rows,
      shards: m.totals.shards,
      bytes: m.totals.bytes,
      seconds: (performance.now() - t0) / 1000,
      cpu: cpuSeconds() - c0,
      peakRss: peakRssMiB(),
      rss25: at(0.25),
      rss50: at(0.5),
      rss75: at(0.75),
      rss100: at(1),
    };
  },
  async load(work) {
    const out: Result = {};
    for (const verify of [true, false]) {
      const loader = await DataLoader.open(join(work, 'tokenized'), {
        seqLen: 2048,
        batchSize: 8,
        seed: 1,
        verify,
      });
      const c0 = cpuSeconds();
      const t0 = performance.now();
      let tokens = 0;
      for await (const b of loader.batches()) tokens += b.tokens;
      out[verify ? 'tokens' : 'tokensNoVerify'] = tokens;
      out[verify ? 'seconds' : 'secondsNoVerify'] = (performance.now() - t0) / 1000;
      out[verify ? 'cpu' : 'cpuNoVerify'] = cpuSeconds() - c0;
    }
    return { ...out, peakRss: peakRssMiB() };
  },
  async chat(work, tok) {
    // BENCH_CHAT_THREADS is set per run by the parent: 0 (this thread) or a pool size.
    const threads = Number(process.env.BENCH_CHAT_THREADS);
    const c0 = cpuSeconds();
    const t0 = performance.now();
    const m = (
      await writeTokenizedDataset(tok, {
        outDir: join(work, `chat-${threads}`),
        source: { kind: 'jsonl', paths: [join(work, 'math.jsonl')] },
        kind: 'chat',
        encodeBatchSize: 512,
        chatThreads: threads,
      })
    ).manifest!;
    return {
      rows: m.totals.rows,
      tokens: m.totals.tokens,
      seconds: (performance.now() - t0) / 1000,
      cpu: cpuSeconds() - c0,
      peakRss: peakRssMiB(),
    };
  },
};

function runPhase(phase: string, work: string, env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = fork(import.meta.filename, [phase, work], {
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

async function textPhases(tok: Tokenizer, work: string): Promise<void> {
  // Corpus: the Brown documents repeated (each copy its own JSONL file) to reach BENCH_TOKENS.
  const docs = await Promise.all((await brownFiles()).map(brownDocument));
  const brownTokens = (await tok.encodeBatch(docs, { addSpecialTokens: false })).reduce(
    (s, e) => s + e.length,
    0,
  );
  const reps = Math.max(1, Math.ceil(TARGET_TOKENS / brownTokens));
  mkdirSync(join(work, 'corpus'));
  const jsonl = `${docs.map((text) => JSON.stringify({ text })).join('\n')}\n`;
  for (let r = 0; r < reps; r++)
    writeFileSync(join(work, 'corpus', `part-${String(r).padStart(4, '0')}.jsonl`), jsonl);
  console.log(
    `corpus: Brown (${docs.length} docs, ${fmt(brownTokens, 0)} tokens) x ${reps} JSONL files = ${fmt(brownTokens * reps, 0)} tokens`,
  );

  // Bare tokenizer before and after the writer, to bracket load changes on this shared machine.
  const bare1 = await runPhase('bare', work);
  const write = await runPhase('write', work);
  const bare2 = await runPhase('bare', work);
  const bareRate = (bare1.tokens! + bare2.tokens!) / (bare1.seconds! + bare2.seconds!);
  const writeRate = write.tokens! / write.seconds!;
  console.log(
    `bare tokenizer encodeBatch (batches of <= ${BATCH} docs and ~2^22 chars, texts in memory): ${fmt(bare1.tokens! / bare1.seconds! / 1e6, 3)} and ${fmt(bare2.tokens! / bare2.seconds! / 1e6, 3)} M tokens/s (before, after the writer); mean ${fmt(bareRate / 1e6, 3)}`,
  );
  console.log(
    `writer (JSONL on disk -> ${write.shards} shards of 2^22 tokens, sha256, fsync, manifest): ${fmt(write.tokens!, 0)} tokens in ${fmt(write.seconds!)} s = ${fmt(writeRate / 1e6, 3)} M tokens/s`,
  );
  console.log(`writer / bare tokenizer: ${fmt(writeRate / bareRate, 3)} (goal >= 0.8)`);
  const bareCpuRate = (bare1.tokens! + bare2.tokens!) / (bare1.cpu! + bare2.cpu!);
  console.log(
    `per CPU second (user + system, all threads): bare ${fmt(bareCpuRate / 1e6, 3)}, writer ${fmt(write.tokens! / write.cpu! / 1e6, 3)} M tokens/CPU-s (ratio ${fmt(write.tokens! / write.cpu! / bareCpuRate, 3)}); CPU/wall: bare ${fmt((bare1.cpu! + bare2.cpu!) / (bare1.seconds! + bare2.seconds!))}, writer ${fmt(write.cpu! / write.seconds!)} cores busy`,
  );
  console.log(
    `writer peak RSS ${fmt(write.peakRss!, 0)} MiB; RSS after the shards at 25/50/75/100% of the run: ${[write.rss25, write.rss50, write.rss75, write.rss100].map((x) => fmt(x!, 0)).join(' / ')} MiB (bare tokenizer process with the corpus in memory: ${fmt(bare1.peakRss!, 0)} MiB)`,
  );
  console.log(
    `projected for 10B tokens on this machine: ${fmt(10e9 / writeRate / 3600, 1)} h at the measured (loaded) wall rate; ${fmt(10e9 / ((write.tokens! / write.cpu!) * cpus().length) / 3600, 1)} h with all ${cpus().length} cores free (tokens per CPU second x cores)`,
  );

  const load = await runPhase('load', work);
  console.log(
    `loader (packed 8 x 2048, shuffled, one epoch): ${fmt(load.tokens! / load.seconds! / 1e6, 1)} M tokens/s with sha256 checks, ${fmt(load.tokensNoVerify! / load.secondsNoVerify! / 1e6, 1)} M tokens/s without (goal >= 50); per CPU second ${fmt(load.tokens! / load.cpu! / 1e6, 1)} and ${fmt(load.tokensNoVerify! / load.cpuNoVerify! / 1e6, 1)} M tokens/CPU-s; ${fmt(load.tokens!, 0)} tokens; peak RSS ${fmt(load.peakRss!, 0)} MiB`,
  );
}

async function main() {
  const [phase, workArg] = process.argv.slice(2);
  if (phase) {
    const tok = await Tokenizer.fromPretrained(TOKENIZER);
    console.log(JSON.stringify(await PHASES[phase]!(workArg!, tok)));
    return;
  }
  if (!existsSync(TOKENIZER)) {
    console.log(`skipped: needs ${TOKENIZER} (the ../shared folder)`);
    return;
  }
  const tok = await Tokenizer.fromPretrained(TOKENIZER);
  const work = mkdtempSync(join(tmpdir(), 'loralab-data-bench-'));
  try {
    console.log(
      `@loralab/data benchmark: ${cpus().length} cores (${cpus()[0]?.model}), Node ${process.version}, load average ${loadavg()
        .map((x) => fmt(x, 1))
        .join(' ')}`,
    );
    console.log(`tokenizer: granite-3 (vocab ${tok.vocabSize}, uint16 shards)`);

    if (process.env.BENCH_ONLY !== 'chat') await textPhases(tok, work);

    const lines: string[] = [];
    for (const p of generateMathProblems({ split: 'train', count: CONVERSATIONS, seed: 1 })) {
      lines.push(
        JSON.stringify({
          messages: [
            { role: 'user', content: p.question },
            { role: 'assistant', content: p.answer },
          ],
        }),
      );
    }
    writeFileSync(join(work, 'math.jsonl'), `${lines.join('\n')}\n`);
    // In this thread, then on a pool of worker threads (one per core, at least 2, at most 8).
    for (const threads of ['0', String(Math.max(2, Math.min(cpus().length, 8)))]) {
      const chat = await runPhase('chat', work, { BENCH_CHAT_THREADS: threads });
      console.log(
        `instruction data (generated GSM8K-style, messages format, granite-3 chat template, assistant-only loss masks, chatThreads ${threads}): ${fmt(chat.rows!, 0)} conversations, ${fmt(chat.tokens!, 0)} tokens in ${fmt(chat.seconds!)} s = ${fmt(chat.rows! / chat.seconds!, 0)} conversations/s (${fmt(chat.rows! / chat.cpu!, 0)} per CPU second); peak RSS ${fmt(chat.peakRss!, 0)} MiB`,
      );
    }
    console.log(
      `load average at the end: ${loadavg()
        .map((x) => fmt(x, 1))
        .join(' ')}`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
