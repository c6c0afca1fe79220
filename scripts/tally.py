#!/usr/bin/env python3
"""Print "PASSED FAILED" for one test report (meson testlog.json or junit)."""
import json
import sys
import xml.etree.ElementTree as ET


def meson(path):
    passed = failed = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["result"] in ("OK", "EXPECTEDFAIL", "SKIP"):
                passed += r["result"] != "SKIP"
            else:
                failed += 1
    return passed, failed


def junit(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    passed = failed = 0
    for s in suites:
        n = int(s.get("tests", 0))
        bad = int(s.get("failures", 0)) + int(s.get("errors", 0))
        skipped = int(s.get("skipped", 0))
        failed += bad + skipped  # a skipped test is not a passed one
        passed += n - bad - skipped
    return passed, failed


if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    try:
        p, f = {"meson": meson, "junit": junit}[kind](path)
    except (OSError, ValueError, ET.ParseError) as e:
        print(f"tally: {path}: {e}", file=sys.stderr)
        p, f = 0, 1
    print(p, f)
