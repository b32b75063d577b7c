// Benchmark of @loralab/rank's dense SVD: all singular values of n × n matrices, wall time, accuracy and the
// ratio to NumPy (numpy.linalg.svd, LAPACK dgesdd) measured in the same run on the same matrices.
//
//   npx tsx --conditions=@loralab/source tools/bench/rank-svd.ts [--sizes 256,512,1024,2048] [--repeats 1]
//       [--python /usr/bin/python3] [--lapack-dir DIR] [--vectors 512] [--threads 2]
//
// --threads 2 adds a column with the sweeps split over two threads (svd's `threads` option).
//
// NumPy runs with the BLAS/LAPACK that Debian's alternatives select (OpenBLAS when libopenblas0 is installed,
// else the reference netlib libraries); the table says which. --lapack-dir runs NumPy a second time with
// LD_LIBRARY_PATH=DIR to compare with another build, e.g. /usr/lib/x86_64-linux-gnu/lapack:/usr/lib/x86_64-linux-gnu/blas
// (reference LAPACK) or an unpacked libopenblas0-pthread (`apt-get download libopenblas0-pthread; dpkg -x *.deb root`).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Random, singularValues, svd } from '@loralab/rank';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const sizes = arg('sizes', '256,512,1024,2048').split(',').map(Number);
const repeats = Number(arg('repeats', '2'));
const python = arg('python', '/usr/bin/python3');
const lapackDir = arg('lapack-dir', '');
const vectorsUpTo = Number(arg('vectors', '0'));
const threads = Number(arg('threads', '1'));
const dir = mkdtempSync(join(tmpdir(), 'rank-bench-'));
const here = new URL('.', import.meta.url).pathname;

interface NumpyRun {
  numpy: string;
  libraries: string[];
  openblas: Record<string, unknown>;
  env: Record<string, string>;
  seconds: Record<string, number>;
  seconds_vectors: Record<string, number>;
}

function runNumpy(env: NodeJS.ProcessEnv): NumpyRun | null {
  if (!existsSync(python)) return null;
  try {
    const out = execFileSync(
      python,
      [join(here, 'rank-svd-numpy.py'), dir, sizes.join(','), String(repeats), String(vectorsUpTo)],
      {
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    return JSON.parse(out.trim().split('\n').pop()!) as NumpyRun;
  } catch (e) {
    console.log(
      `NumPy reference failed (${(e as Error).message.split('\n')[0]}); reporting TypeScript times only`,
    );
    return null;
  }
}

function readF64(path: string): Float64Array {
  const b = readFileSync(path);
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

console.log(`# @loralab/rank SVD benchmark (values only, uniform [-1, 1) float64 n × n)`);
console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} logical CPUs, best of ${repeats}, load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} (other processes share these CPUs: compare ratios, not absolute times)`,
);

// Same matrices for both sides.
const mats = new Map<number, Float64Array>();
for (const n of sizes) {
  const rng = new Random(n);
  const a = new Float64Array(n * n);
  for (let i = 0; i < a.length; i++) a[i] = 2 * rng.uniform() - 1;
  mats.set(n, a);
  writeFileSync(join(dir, `a-${n}.f64`), new Uint8Array(a.buffer));
}

const numpy = runNumpy({ ...process.env });
const numpyS = new Map(sizes.map((n) => [n, numpy ? readF64(join(dir, `s-${n}.f64`)) : null]));
const optimised = lapackDir ? runNumpy({ ...process.env, LD_LIBRARY_PATH: lapackDir }) : null;
if (numpy) console.log(`NumPy ${numpy.numpy}; BLAS/LAPACK loaded: ${numpy.libraries.join(', ')}`);
if (numpy) console.log(`OpenBLAS: ${JSON.stringify(numpy.openblas)} ${JSON.stringify(numpy.env)}`);
if (optimised)
  console.log(
    `NumPy with --lapack-dir: ${optimised.libraries.join(', ')} ${JSON.stringify(optimised.openblas)}`,
  );

// Warm up the JIT and compile the WebAssembly kernel (NumPy's side warms up likewise).
for (const n of [64, 256]) singularValues({ rows: n, cols: n, data: new Random(1).normals(n * n) });
const header = [
  'n',
  'rank (s)',
  'GFLOP/s',
  ...(threads > 1 ? [`rank, ${threads} threads (s)`] : []),
  'NumPy (s)',
  'ratio',
  ...(optimised ? ['NumPy --lapack-dir (s)', 'ratio'] : []),
  'max |Δσ|/σ_1',
  'max rel err σ_i≥1e-8σ_1',
];
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map(() => '---').join('|')}|`);
for (const n of sizes) {
  const a = { rows: n, cols: n, data: mats.get(n)! };
  let best = Number.POSITIVE_INFINITY;
  let s: Float64Array<ArrayBufferLike> = new Float64Array(0);
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    s = singularValues(a);
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  let bestThreads = Number.POSITIVE_INFINITY;
  for (let r = 0; threads > 1 && r < repeats; r++) {
    const t = performance.now();
    singularValues(a, { threads });
    bestThreads = Math.min(bestThreads, (performance.now() - t) / 1000);
  }
  const ref = numpyS.get(n);
  let absErr = Number.NaN;
  let relErr = Number.NaN;
  if (ref) {
    absErr = 0;
    relErr = 0;
    for (let i = 0; i < n; i++) {
      const d = Math.abs(s[i]! - ref[i]!);
      absErr = Math.max(absErr, d / ref[0]!);
      if (ref[i]! >= 1e-8 * ref[0]!) relErr = Math.max(relErr, d / ref[i]!);
    }
  }
  const np = numpy?.seconds[String(n)];
  const opt = optimised?.seconds[String(n)];
  const flops = (8 / 3) * n ** 3; // Householder bidiagonalisation dominates
  const row = [
    n,
    best.toFixed(3),
    (flops / best / 1e9).toFixed(2),
    ...(threads > 1 ? [bestThreads.toFixed(3)] : []),
    np?.toFixed(3) ?? '-',
    np ? `${(best / np).toFixed(2)}x` : '-',
    ...(optimised ? [opt?.toFixed(3) ?? '-', opt ? `${(best / opt).toFixed(2)}x` : '-'] : []),
    absErr.toExponential(1),
    relErr.toExponential(1),
  ];
  console.log(`| ${row.join(' | ')} |`);
}
for (const n of sizes.filter((x) => x <= vectorsUpTo)) {
  const t = performance.now();
  svd({ rows: n, cols: n, data: mats.get(n)! }, { vectors: true });
  const seconds = (performance.now() - t) / 1000;
  const np = numpy?.seconds_vectors[String(n)];
  console.log(
    `with vectors, n = ${n}: ${seconds.toFixed(3)} s${np ? `; NumPy ${np.toFixed(3)} s, ratio ${(seconds / np).toFixed(2)}x` : ''}`,
  );
}
rmSync(dir, { recursive: true, force: true });
