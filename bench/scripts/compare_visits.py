"""Compare two `facegate bench door --log` files visit by visit (same plan: same seed and
sizes): outcome, false open, miss, and the decisions journalled; prints every difference.

    python bench/scripts/compare_visits.py before.jsonl after.jsonl
"""

import json
import sys


def outcome(v: dict) -> tuple:
    return v["opened_for"], v["false_open"], v["missed"], [e["decision"] for e in v["events"]]


def main(a_path: str, b_path: str) -> int:
    with open(a_path) as fa, open(b_path) as fb:
        a = [json.loads(line) for line in fa]
        b = [json.loads(line) for line in fb]
    n = min(len(a), len(b))
    differ = 0
    for x, y in zip(a[:n], b[:n], strict=True):
        if x["image"] != y["image"]:
            print(f"not the same plan: {x['image']} vs {y['image']}")
            return 2
        if outcome(x) != outcome(y):
            differ += 1
            print(f"{x['kind']} {x['image']}\n  before: {outcome(x)}\n  after:  {outcome(y)}")
    fo = [sum(v["false_open"] for v in s[:n]) for s in (a, b)]
    mi = [sum(v["missed"] for v in s[:n]) for s in (a, b)]
    print(
        f"{n} visits: {n - differ} same outcome, {differ} differ; "
        f"false opens {fo[0]} -> {fo[1]}, missed {mi[0]} -> {mi[1]}"
    )
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
