// The unbiased pass@k estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained on Code"),
// as openai/human-eval's estimate_pass_at_k computes it, averaged over problems.

/**
 * pass@k for one problem with n samples of which c pass:
 *   1 - C(n-c, k) / C(n, k) = 1 - prod_{i = n-c+1}^{n} (1 - k / i)
 * (the product form avoids huge binomials); 1 when n - c < k (every k-subset holds a pass).
 */
export function estimatePassAtK(n: number, c: number, k: number): number {
  if (
    !(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k)) ||
    c < 0 ||
    c > n ||
    k < 1 ||
    k > n
  ) {
    throw new RangeError(`pass@k needs integers 0 <= c <= n and 1 <= k <= n, found n=${n}, c=${c}, k=${k}`);
  }
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

/** Samples and passes of one problem. */
export interface ProblemCounts {
  /** Number of samples (n). */
  total: number;
  /** Number of passing samples (c). */
  correct: number;
}

/**
 * Mean pass@k over problems for each k in `ks` (default: every k from 1 to the smallest n); like
 * human-eval, a k is left out unless every problem has at least k samples. Keys are `pass@k`.
 */
export function passAtK(problems: ProblemCounts[], ks?: number[]): Record<string, number> {
  if (problems.length === 0) return {};
  const minN = Math.min(...problems.map((p) => p.total));
  const wanted = ks ?? Array.from({ length: minN }, (_, i) => i + 1);
  const out: Record<string, number> = {};
  for (const k of wanted) {
    if (k < 1 || k > minN) continue;
    let sum = 0;
    for (const p of problems) sum += estimatePassAtK(p.total, p.correct, k);
    out[`pass@${k}`] = sum / problems.length;
  }
  return out;
}
