// Benchmark of @loralab/data's Parquet source: rows per second and peak RSS reading a ZSTD file every column vs
// only the text column, against reading the same records as JSONL (the reference, same run), at two file sizes
// to show that memory does not grow with the file (one row group in memory at a time).
// Each read runs in its own child process, which samples its own RSS every 1000 rows (getrusage's maxrss would
// include the parent's, which Linux carries across fork and exec).
// Run: npx tsx --conditions=@loralab/source tools/bench/parquet.bench.ts   (BENCH_ROWS, default 25000; the second size is 4x)
import { fork } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { readSource, type SourceConfig } from '../../packages/data/src/index.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 25_000);
const GROUP = 10_000;
const MiB = 2 ** 20;
const fmt = (x: number, digits = 1) => x.toLocaleString('en-US', { maximumFractionDigits: digits });
const WORDS =
  'the model learns less and forgets less when the rank of the update is low data weights code math'.split(
    ' ',
  );

/** Deterministic text of about `chars` characters. */
function text(i: number, chars: number): string {
  let s = '';
  let x = (i + 1) >>> 0;
  while (s.length < chars) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    s += `${WORDS[(x >>> 16) % WORDS.length]}${x % 7 === 0 ? `${x % 1000}` : ''} `;
  }
  return s;
}

function writeInputs(dir: string, rows: number): { parquet: string; jsonl: string } {
  const id = Int32Array.from({ length: rows }, (_, i) => i);
  const body = Array.from({ length: rows }, (_, i) => text(i, 300));
  const meta = Array.from({ length: rows }, (_, i) => text(i + rows, 700));
  const table = tableFromArrays({ id, text: body, meta });
  const props = new pq.WriterPropertiesBuilder()
    .setCompression(pq.Compression.ZSTD)
    .setMaxRowGroupSize(GROUP)
    .build();
  const parquet = join(dir, `rows-${rows}.parquet`);
  writeFileSync(parquet, pq.writeParquet(pq.Table.fromIPCStream(tableToIPC(table, 'stream')), props));
  const jsonl = join(dir, `rows-${rows}.jsonl`);
  const fd = openSync(jsonl, 'w');
  for (let i = 0; i < rows; i += GROUP) {
    const lines = body
      .slice(i, i + GROUP)
      .map((t, k) => JSON.stringify({ id: i + k, text: t, meta: meta[i + k] }));
    writeSync(fd, `${lines.join('\n')}\n`);
  }
  closeSync(fd);
  return { parquet, jsonl };
}

/** Child: reads the source, touching each text, and reports rows, seconds and peak RSS. */
async function child(source: SourceConfig, columns: string[] | null): Promise<void> {
  const t0 = performance.now();
  let rows = 0;
  let chars = 0;
  let peak = process.memoryUsage().rss;
  for await (const r of readSource(source, columns ? { columns } : {})) {
    rows++;
    chars += ((r.value as { text: string }).text ?? '').length;
    if (rows % 1000 === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  const seconds = (performance.now() - t0) / 1000;
  process.send!({ rows, chars, seconds, rssMiB: peak / MiB });
}

type Result = { rows: number; chars: number; seconds: number; rssMiB: number };

function runChild(source: SourceConfig, columns: string[] | null): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = fork(import.meta.filename, ['child', JSON.stringify({ source, columns })], {
      execArgv: ['--conditions=@loralab/source', '--import', 'tsx'],
    });
    p.on('message', (m) => resolve(m as Result));
    p.on('error', reject);
    p.on('exit', (code) => code !== 0 && reject(new Error(`child exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'loralab-parquet-bench-'));
  try {
    console.log(
      `machine: ${cpus().length} cores, load average ${loadavg()
        .map((x) => fmt(x, 2))
        .join(' ')}`,
    );
    for (const rows of [ROWS, 4 * ROWS]) {
      const { parquet, jsonl } = writeInputs(dir, rows);
      console.log(
        `\n${fmt(rows, 0)} rows (text 300 chars, meta 700 chars), row groups of ${fmt(GROUP, 0)}: parquet ZSTD ${fmt(statSync(parquet).size / MiB)} MiB, jsonl ${fmt(statSync(jsonl).size / MiB)} MiB`,
      );
      const ref = await runChild({ kind: 'jsonl', paths: [jsonl] }, null);
      const all = await runChild({ kind: 'parquet', paths: [parquet] }, null);
      const text = await runChild({ kind: 'parquet', paths: [parquet] }, ['text']);
      for (const [name, r] of [
        ['jsonl (reference)', ref],
        ['parquet, all columns', all],
        ['parquet, text column', text],
      ] as const) {
        if (r.rows !== rows) throw new Error(`${name}: read ${r.rows} rows, expected ${rows}`);
        console.log(
          `  ${name.padEnd(22)} ${fmt(r.rows / r.seconds, 0).padStart(9)} rows/s  ${fmt(r.seconds, 2).padStart(6)} s  x${fmt(ref.seconds / r.seconds, 2)} vs jsonl  peak RSS ${fmt(r.rssMiB, 0)} MiB`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'child') {
  const { source, columns } = JSON.parse(process.argv[3]!);
  await child(source, columns);
} else {
  await main();
}
