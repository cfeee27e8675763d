#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Validates JSON documents against JSON schemas with the `jsonschema` package (Debian
python3-jsonschema), an implementation independent of Fragua's constrained decoder.

Input: a JSON file holding a list of {"schema": ..., "instance": "<JSON text>"}. Each text must
parse (Python's json module) and validate (Draft 2020-12). Prints one line per failure and
"checked N"; exits 0 when all are valid, 1 otherwise, 3 when jsonschema is not installed (the
caller skips, with this message)."""
import json
import sys


def main() -> int:
    try:
        import jsonschema
    except ImportError:
        print("SKIP: python3-jsonschema is not installed")
        return 3
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    bad = 0
    for i, case in enumerate(cases):
        try:
            instance = json.loads(case["instance"])
        except ValueError as e:
            print(f"case {i}: not JSON ({e}): {case['instance']!r}")
            bad += 1
            continue
        validator = jsonschema.Draft202012Validator(case["schema"])
        errors = list(validator.iter_errors(instance))
        for e in errors:
            print(f"case {i}: {e.message} at {list(e.absolute_path)}: {case['instance']!r}")
        bad += bool(errors)
    print(f"checked {len(cases)}, invalid {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
