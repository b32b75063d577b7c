#!/usr/bin/python3
"""Golden values for HellaSwag preprocessing (packages/eval/src/hellaswag.test.ts), with the functions of
lm-evaluation-harness lm_eval/tasks/hellaswag/utils.py (preprocess, _process_doc) re-typed here.

    /usr/bin/python3 tools/reference/eval-hellaswag.py ../shared/data/hellaswag/hellaswag_val_sample1000.jsonl \
        > packages/eval/test/fixtures/hellaswag-golden.json

Output: the first three processed docs in full and the sha256 of all processed docs as compact JSON
(json.dumps(..., ensure_ascii=False, separators=(",", ":")) of [[query, choices, gold], ...]); exact.
"""
import hashlib
import json
import re
import sys


def preprocess(text):
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text


def process_doc(doc):
    ctx = doc["ctx_a"] + " " + doc["ctx_b"].capitalize()
    return [preprocess(doc["activity_label"] + ": " + ctx), [preprocess(e) for e in doc["endings"]], int(doc["label"])]


with open(sys.argv[1], encoding="utf-8") as f:
    docs = [process_doc(json.loads(line)) for line in f if line.strip()]
blob = json.dumps(docs, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
json.dump({"count": len(docs), "sha256": hashlib.sha256(blob).hexdigest(), "first": docs[:3]}, sys.stdout, indent=1, ensure_ascii=False)
