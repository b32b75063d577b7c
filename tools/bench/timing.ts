// Helpers the micro-benchmarks share: deterministic operands and a timing window.

/** n deterministic values in [−0.5, 0.5) from a linear congruential generator started at `seed`. */
export function lcgArray(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    a[i] = s / 2147483648 - 0.5;
  }
  return a;
}

/** Seconds per call of `f`: one untimed call, then a window of at least `seconds` and 2 calls. */
export function secondsPerCall(f: () => void, seconds: number): number {
  f();
  let it = 0;
  const t0 = performance.now();
  let dt = 0;
  do {
    f();
    it++;
    dt = (performance.now() - t0) / 1000;
  } while (dt < seconds || it < 2);
  return dt / it;
}
