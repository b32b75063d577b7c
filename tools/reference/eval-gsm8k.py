#!/usr/bin/python3
"""Golden values for GSM8K scoring (packages/eval/src/gsm8k.test.ts), computed with Python's `re` the way
lm-evaluation-harness's gsm8k task does (lm_eval/filters/extraction.py RegexFilter: findall, group_select,
first non-empty group of a tuple, strip, fallback "[invalid]"; lm_eval/api/metrics.py exact_match with
regexes_to_ignore [",", "\\$", "(?s).*#### ", "\\.$"] and ignore_case). Exact strings, no tolerance.

    /usr/bin/python3 tools/reference/eval-gsm8k.py > packages/eval/test/fixtures/gsm8k-golden.json
"""
import json
import re
import sys

STRICT = re.compile(r"#### (\-?[0-9\.\,]+)")
FLEXIBLE = re.compile(r"(-?[$0-9.,]{2,})|(-?[0-9]+)")
IGNORE = [",", "\\$", "(?s).*#### ", "\\.$"]


def regex_filter(regex, resp, group_select):
    match = regex.findall(resp)
    if match:
        match = match[group_select]
        if isinstance(match, tuple):
            match = [m for m in match if m][0]
        return match.strip()
    return "[invalid]"


def normalize(x):
    for s in IGNORE:
        x = re.sub(s, "", x)
    return x.lower()


reference = "Janet has 3 ducks.\n#### 1,234"
responses = [
    " She pays 5 + 3 = <<5+3=8>>8 dollars.\n#### 8",
    " The answer is 1,234.",
    " #### 1,234.",
    " #### $1,234",
    " The total is $1,234.00 dollars",
    " #### -7\nQuestion: next",
    " no numbers here",
    " 5 apples and 12 pears, so 17.",
    " 3.5 hours, i.e. 1234",
    " ####  1234",
    " #### 12.34.5",
    " -12 degrees then 1,234.\n",
    " He had 1234\n",
    " 7",
    " x.\n",
    " #### 1234 then #### 99",
]
items = []
for resp in responses:
    strict = regex_filter(STRICT, resp, 0)
    flexible = regex_filter(FLEXIBLE, resp, -1)
    items.append({
        "response": resp,
        "strict": strict,
        "flexible": flexible,
        "strict_correct": normalize(strict) == normalize(reference),
        "flexible_correct": normalize(flexible) == normalize(reference),
        "normalized_response": normalize(resp),
    })
json.dump({"reference": reference, "items": items}, sys.stdout, indent=1)
