// Benchmark of @loralab/rank's dense SVDs: all singular values of n × n matrices, wall time, accuracy and the
// ratio to NumPy (numpy.linalg.svd, LAPACK dgesdd) measured in the same run on the same matrices: rank's own
// WebAssembly SVD (up to --wasm-up-to) and, where @loralab/kernels' addon is built, LAPACK dgesdd through it
// (createLapackSvd, the provider rank's analysis takes), with the same OpenBLAS and OPENBLAS_CORETYPE as NumPy.
//
//   npx tsx --conditions=@loralab/source tools/bench/rank-svd.ts [--sizes 256,512,1024,2048,4096] [--repeats 1]
//       [--wasm-up-to 2048] [--python /usr/bin/python3] [--lapack-dir DIR] [--vectors 512] [--threads 2]
//
// --threads 2 adds a column with the sweeps split over two threads (svd's `threads` option).
// The addon's loader sets OPENBLAS_CORETYPE (and the passive thread wait) in this process's environment before
// OpenBLAS initialises; NumPy is started afterwards with that same environment, and both sides print the core type
// OpenBLAS reports. LORALAB_KERNELS=off leaves the native column out.
//
// NumPy runs with the BLAS/LAPACK that Debian's alternatives select (OpenBLAS when libopenblas0 is installed,
// else the reference netlib libraries); the table says which. --lapack-dir runs NumPy a second time with
// LD_LIBRARY_PATH=DIR to compare with another build, e.g. /usr/lib/x86_64-linux-gnu/lapack:/usr/lib/x86_64-linux-gnu/blas
// (reference LAPACK) or an unpacked libopenblas0-pthread (`apt-get download libopenblas0-pthread; dpkg -x *.deb root`).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLapackSvd } from '@loralab/kernels';
import { Random, singularValues, svd } from '@loralab/rank';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const sizes = arg('sizes', '256,512,1024,2048').split(',').map(Number);
const wasmUpTo = Number(arg('wasm-up-to', '2048'));
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

function runNumpy(
  env: NodeJS.ProcessEnv,
  only: number[] = sizes,
  times = repeats,
  vectorsTo = vectorsUpTo,
): NumpyRun | null {
  if (!existsSync(python)) return null;
  try {
    const out = execFileSync(
      python,
      [join(here, 'rank-svd-numpy.py'), dir, only.join(','), String(times), String(vectorsTo)],
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

// Loads the addon (which sets OPENBLAS_CORETYPE in process.env) before NumPy starts, so both run the same kernels.
// One SVD at a time with all cores' OpenBLAS threads, as NumPy.
const lapack = createLapackSvd({ concurrency: 1, blasThreads: availableParallelism() });
if (lapack)
  console.log(
    `native: LAPACK dgesdd via @loralab/kernels, OpenBLAS core ${lapack.report.corename} (OPENBLAS_CORETYPE=${lapack.report.requestedCoreType || 'unset'}), ${lapack.blasThreads} OpenBLAS threads; ${lapack.report.blasConfig}`,
  );
else console.log('native: @loralab/kernels addon not available; native column left out');
// NumPy at the smallest size first, for its library report; the timed NumPy runs alternate with the native ones below.
const numpy = runNumpy({ ...process.env }, [sizes[0]!], 1, 0);
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
  'wasm (s)',
  'GFLOP/s',
  ...(threads > 1 ? [`wasm, ${threads} threads (s)`] : []),
  ...(lapack ? ['native LAPACK (s)'] : []),
  'NumPy (s)',
  'wasm/NumPy',
  ...(lapack ? ['native/NumPy'] : []),
  ...(optimised ? ['NumPy --lapack-dir (s)', 'wasm/that'] : []),
  'wasm: max |Δσ|/σ_1',
  'wasm: max rel err σ_i≥1e-8σ_1',
  ...(lapack ? ['native: max |Δσ|/σ_1', 'native vs wasm: max |Δσ|/σ_1'] : []),
];
console.log(
  `native and NumPy: best of ${repeats} alternating rounds per size (native, then NumPy in a fresh process); wasm best of ${repeats}, up to n = ${wasmUpTo}`,
);
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map(() => '---').join('|')}|`);
/** max_i |a_i − b_i| / b_1 and max relative error over b_i ≥ 1e-8·b_1 (NaN when either is missing). */
function errors(a: Float64Array | null, b: Float64Array | null): [number, number] {
  if (!a || !b || a.length === 0) return [Number.NaN, Number.NaN];
  let abs = 0;
  let rel = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    abs = Math.max(abs, d / b[0]!);
    if (b[i]! >= 1e-8 * b[0]!) rel = Math.max(rel, d / b[i]!);
  }
  return [abs, rel];
}
const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : '-');
const exp = (x: number) => (Number.isFinite(x) ? x.toExponential(1) : '-');
const ratio = (x: number, y: number | undefined) =>
  Number.isFinite(x) && y ? `${(x / y).toFixed(2)}x` : '-';
if (lapack) await lapack.svd({ rows: 64, cols: 64, data: new Random(1).normals(64 * 64) }); // warm up
for (const n of sizes) {
  const a = { rows: n, cols: n, data: mats.get(n)! };
  // Alternating rounds, native then NumPy (one process per round), so that both see the same load.
  let nativeBest = Number.POSITIVE_INFINITY;
  let nativeS: Float64Array | null = null;
  let np: number | undefined;
  for (let r = 0; r < repeats; r++) {
    if (lapack) {
      const t = performance.now();
      nativeS = (await lapack.svd(a)).s;
      nativeBest = Math.min(nativeBest, (performance.now() - t) / 1000);
    }
    const run = numpy ? runNumpy({ ...process.env }, [n], 1, 0) : null;
    const sec = run?.seconds[String(n)];
    if (sec !== undefined) np = Math.min(np ?? Number.POSITIVE_INFINITY, sec);
  }
  const ref = np !== undefined ? readF64(join(dir, `s-${n}.f64`)) : null;
  const wasm = n <= wasmUpTo;
  let best = Number.POSITIVE_INFINITY;
  let s: Float64Array | null = null;
  for (let r = 0; wasm && r < repeats; r++) {
    const t = performance.now();
    s = singularValues(a);
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  let bestThreads = Number.POSITIVE_INFINITY;
  for (let r = 0; wasm && threads > 1 && r < repeats; r++) {
    const t = performance.now();
    singularValues(a, { threads });
    bestThreads = Math.min(bestThreads, (performance.now() - t) / 1000);
  }
  const [absErr, relErr] = errors(s, ref);
  const opt = optimised?.seconds[String(n)];
  const flops = (8 / 3) * n ** 3; // Householder bidiagonalisation dominates
  const row = [
    n,
    fmt(best),
    fmt(Number.isFinite(best) ? flops / best / 1e9 : Number.NaN, 2),
    ...(threads > 1 ? [fmt(bestThreads)] : []),
    ...(lapack ? [fmt(nativeBest)] : []),
    np?.toFixed(3) ?? '-',
    ratio(best, np),
    ...(lapack ? [ratio(nativeBest, np)] : []),
    ...(optimised ? [opt?.toFixed(3) ?? '-', ratio(best, opt)] : []),
    exp(absErr),
    exp(relErr),
    ...(lapack ? [exp(errors(nativeS, ref)[0]), exp(errors(nativeS, s)[0])] : []),
  ];
  console.log(`| ${row.join(' | ')} |`);
}
for (const n of sizes.filter((x) => x <= vectorsUpTo)) {
  const a = { rows: n, cols: n, data: mats.get(n)! };
  let t = performance.now();
  if (n <= wasmUpTo) svd(a, { vectors: true });
  const seconds = n <= wasmUpTo ? (performance.now() - t) / 1000 : Number.NaN;
  t = performance.now();
  if (lapack) await lapack.svd(a, { vectors: true });
  const native = lapack ? (performance.now() - t) / 1000 : Number.NaN;
  const np = numpy ? runNumpy({ ...process.env }, [n], 1)?.seconds_vectors[String(n)] : undefined;
  console.log(
    `with vectors, n = ${n}: wasm ${fmt(seconds)} s, native LAPACK ${fmt(native)} s${np ? `; NumPy ${np.toFixed(3)} s, wasm/NumPy ${ratio(seconds, np)}, native/NumPy ${ratio(native, np)}` : ''}`,
  );
}
await lapack?.close();
rmSync(dir, { recursive: true, force: true });
