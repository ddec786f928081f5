"""Summarise an Autobahn|Testsuite (kosoku) report directory.

    python bench/autobahn_summary.py REPORT_DIR

Prints the count of each verdict and every case that is not OK,
NON-STRICT or INFORMATIONAL (or that did not close cleanly); exits 1 if
there is any.
"""
from __future__ import annotations

import collections
import glob
import json
import os
import sys
from typing import Dict, List, Tuple

GOOD = {"OK", "NON-STRICT", "INFORMATIONAL"}


def summarise(directory: str) -> Tuple[Dict[str, int], Dict[str, int], List[str]]:
    behavior: Dict[str, int] = collections.Counter()
    close: Dict[str, int] = collections.Counter()
    bad: List[str] = []
    for path in sorted(glob.glob(os.path.join(directory, "*_case_*.json"))):
        with open(path) as f:
            case = json.load(f)
        behavior[case["behavior"]] += 1
        close[case["behaviorClose"]] += 1
        if case["behavior"] not in GOOD or case["behaviorClose"] not in GOOD:
            bad.append("%s %s/%s: %s" % (case["id"], case["behavior"], case["behaviorClose"],
                                         case.get("description", "")))
    return dict(behavior), dict(close), bad


def main() -> int:
    behavior, close, bad = summarise(sys.argv[1])
    print("cases: %d" % sum(behavior.values()))
    print("behavior: " + ", ".join("%s %d" % kv for kv in sorted(behavior.items())))
    print("close:    " + ", ".join("%s %d" % kv for kv in sorted(close.items())))
    for line in bad:
        print("  " + line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
