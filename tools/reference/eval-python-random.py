#!/usr/bin/python3
"""Golden values for PythonRandom (packages/eval/src/python-random.test.ts): CPython's own random module.

    /usr/bin/python3 tools/reference/eval-python-random.py > packages/eval/test/fixtures/python-random-golden.json

Exact integers, no tolerance. `gsm8k_fewshot` repeats what lm-evaluation-harness does for gsm8k: one
random.Random(1234) and, for each test document in order, rnd.sample(train_docs, 5) (indices shown here).
"""
import json
import random
import sys

out = {"python": sys.version.split()[0], "getrandbits32": {}, "samples": []}
for seed in (0, 1, 1234, 2**32 + 7, -5):
    r = random.Random(seed)
    out["getrandbits32"][str(seed)] = [r.getrandbits(32) for _ in range(700)]
for seed, n, k, calls in ((1234, 7473, 5, 4), (42, 10, 10, 2), (7, 21, 5, 3), (7, 22, 6, 3), (3, 100, 30, 2), (9, 1, 1, 1)):
    r = random.Random(seed)
    out["samples"].append({"seed": seed, "n": n, "k": k, "draws": [r.sample(range(n), k) for _ in range(calls)]})
r = random.Random(1234)
out["gsm8k_fewshot"] = [r.sample(range(7473), 5) for _ in range(20)]
json.dump(out, sys.stdout, separators=(",", ":"))
