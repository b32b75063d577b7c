#!/usr/bin/python3
"""Golden singular values for @loralab/rank (packages/rank/test/fixtures/svd-golden.json).

Run with Debian's python3 + python3-numpy:  /usr/bin/python3 tools/reference/rank-svd.py

The test matrices are not stored: they come from a tiny deterministic generator that
packages/rank/test/matrix-generators.ts reproduces bit for bit (splitmix64 uniforms, exact
power-of-two column grading, exact small-integer products, Hilbert entries 1/(i+j+1)).
Each case stores a checksum (the sum of all entries) so the tests prove the TypeScript generator
built the same matrix. Singular values come from LAPACK (numpy.linalg.svd -> dgesdd).

Tolerance used by the tests: |s - s_ref| <= 1e-5 * s_ref for every s_ref > 1e-13 * s_1 (down to 1e-10 * s_1 in the
ill-conditioned cases), and |s - s_ref| <= 64 * max(m, n) * eps * s_1 (LAPACK's own backward error bound) for the
numerically zero values of the rank-deficient cases. Observed: at most 7e-8 relative (Hilbert's smallest value),
about 1e-14 elsewhere.
"""
import json
import os
import numpy as np

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):
        """A double in [0, 1) with 53 random bits (exact in every language)."""
        return (self.next() >> 11) * (2.0 ** -53)


def generate(spec):
    kind, m, n = spec["kind"], spec["rows"], spec["cols"]
    a = np.zeros((m, n), dtype=np.float64)
    if kind == "uniform":  # entries 2u - 1 in [-1, 1), row-major order
        rng = SplitMix64(spec["seed"])
        for i in range(m):
            for j in range(n):
                a[i, j] = 2.0 * rng.uniform() - 1.0
    elif kind == "graded":  # column j scaled by 2^-floor(E*j/(n-1)): condition number about 2^E
        rng = SplitMix64(spec["seed"])
        e = spec["exponent"]
        for i in range(m):
            for j in range(n):
                a[i, j] = (2.0 * rng.uniform() - 1.0) * 2.0 ** (-((e * j) // max(n - 1, 1)))
    elif kind == "hilbert":
        for i in range(m):
            for j in range(n):
                a[i, j] = 1.0 / (i + j + 1)
    elif kind == "lowrank":  # B (m x r) C (r x n) with integer entries in [-3, 3]: exact, rank <= r
        rng = SplitMix64(spec["seed"])
        r = spec["rank"]
        b = np.array([[float(int(rng.uniform() * 7) - 3) for _ in range(r)] for _ in range(m)])
        c = np.array([[float(int(rng.uniform() * 7) - 3) for _ in range(n)] for _ in range(r)])
        a = b @ c
    elif kind == "float32":  # uniform entries rounded to float32, as a checkpoint would hold them
        rng = SplitMix64(spec["seed"])
        for i in range(m):
            for j in range(n):
                a[i, j] = float(np.float32(2.0 * rng.uniform() - 1.0))
    else:
        raise ValueError(kind)
    return a


def sequential_sum(a):
    """Left-to-right sum in row-major order (numpy's sum is pairwise, which TypeScript would not reproduce)."""
    total = 0.0
    for x in a.ravel():
        total += float(x)
    return total


CASES = [
    {"name": "uniform-tall", "kind": "uniform", "rows": 24, "cols": 16, "seed": 1},
    {"name": "uniform-wide", "kind": "uniform", "rows": 16, "cols": 24, "seed": 2},
    {"name": "uniform-square", "kind": "uniform", "rows": 64, "cols": 64, "seed": 3},
    {"name": "uniform-large", "kind": "uniform", "rows": 150, "cols": 120, "seed": 4},
    {"name": "uniform-very-tall", "kind": "uniform", "rows": 200, "cols": 12, "seed": 5},
    {"name": "row", "kind": "uniform", "rows": 1, "cols": 7, "seed": 6},
    {"name": "column", "kind": "uniform", "rows": 9, "cols": 1, "seed": 7},
    {"name": "float32-square", "kind": "float32", "rows": 48, "cols": 48, "seed": 8},
    {"name": "graded-tall-cond1e10", "kind": "graded", "rows": 40, "cols": 30, "seed": 9, "exponent": 33},
    {"name": "graded-wide-cond1e10", "kind": "graded", "rows": 30, "cols": 40, "seed": 10, "exponent": 33},
    {"name": "graded-square-cond1e6", "kind": "graded", "rows": 80, "cols": 80, "seed": 11, "exponent": 20},
    {"name": "hilbert-8-cond1e10", "kind": "hilbert", "rows": 8, "cols": 8},
    {"name": "lowrank-tall-r5", "kind": "lowrank", "rows": 30, "cols": 20, "seed": 12, "rank": 5},
    {"name": "lowrank-wide-r3", "kind": "lowrank", "rows": 20, "cols": 35, "seed": 13, "rank": 3},
    {"name": "lowrank-square-r1", "kind": "lowrank", "rows": 25, "cols": 25, "seed": 14, "rank": 1},
]

# Singular vectors are stored for these (absolute values per entry are sign-free only per vector,
# so the tests compare |<u_i, u_i_ref>| instead).
WITH_VECTORS = {"uniform-tall", "uniform-wide"}


def main():
    out = {
        "generator": "tools/reference/rank-svd.py",
        "numpy": np.__version__,
        "tolerance": "|s - s_ref| <= 1e-5 * s_ref if s_ref > 1e-13 * s_1, else <= 64 * max(m, n) * eps * s_1",
        "cases": [],
    }
    for spec in CASES:
        a = generate(spec)
        case = dict(spec)
        case["checksum"] = sequential_sum(a)
        case["first"] = [float(x) for x in a.ravel()[:3]]
        if spec["name"] in WITH_VECTORS:
            u, s, vt = np.linalg.svd(a, full_matrices=False)
            case["u"] = [[float(x) for x in row] for row in u.T]  # rows are left singular vectors
            case["vt"] = [[float(x) for x in row] for row in vt]
        else:
            s = np.linalg.svd(a, compute_uv=False)
        case["s"] = [float(x) for x in s]
        out["cases"].append(case)
    path = os.path.join(os.path.dirname(__file__), "..", "..", "packages", "rank", "test", "fixtures", "svd-golden.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.normpath(path)}: {len(out['cases'])} cases")


if __name__ == "__main__":
    main()
