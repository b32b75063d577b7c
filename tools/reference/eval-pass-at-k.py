#!/usr/bin/python3
"""Golden pass@k values for @loralab/eval (packages/eval/src/pass-at-k.test.ts).

Run with Debian's python3 and numpy (apt-get install -y python3-numpy):
    /usr/bin/python3 tools/reference/eval-pass-at-k.py > packages/eval/test/fixtures/pass-at-k-golden.json

Two independent computations per (n, c, k):
  numpy:  1 - prod(1 - k / arange(n - c + 1, n + 1)), 1.0 when n - c < k (the numpy form of
          openai/human-eval's estimate_pass_at_k, as written in Chen et al. 2021, Fig. 3);
  exact:  1 - C(n - c, k) / C(n, k) with Python's exact integers and fractions.
They must agree to 1e-12; the TypeScript estimator is checked against `numpy` to 1e-12 (absolute).
Also the mean over problems for a set of per-problem (n, c) pairs, as evaluate_functional_correctness reports.
"""
import json
import math
from fractions import Fraction

import numpy as np


def numpy_estimator(n, c, k):
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def exact_estimator(n, c, k):
    return float(1 - Fraction(math.comb(n - c, k), math.comb(n, k)))


cases = []
for n in (1, 2, 5, 10, 20, 50, 100, 200):
    for c in sorted({0, 1, 2, n // 3, n // 2, n - 1, n} & set(range(n + 1))):
        for k in sorted({1, 2, 5, 10, 25, 50, 100, n} & set(range(1, n + 1))):
            a, b = numpy_estimator(n, c, k), exact_estimator(n, c, k)
            assert abs(a - b) < 1e-12, (n, c, k, a, b)
            cases.append({"n": n, "c": c, "k": k, "pass_at_k": a})

problems = [(50, 0), (50, 1), (50, 7), (50, 25), (50, 49), (50, 50), (50, 3)]
totals = np.array([p[0] for p in problems])
correct = np.array([p[1] for p in problems])
means = {
    f"pass@{k}": float(np.mean([numpy_estimator(int(n), int(c), k) for n, c in zip(totals, correct)]))
    for k in range(1, 51)
}
print(json.dumps({
    "numpy": np.__version__,
    "cases": cases,
    "problems": [{"total": n, "correct": c} for n, c in problems],
    "mean_pass_at_k": means,
}, indent=1))
