#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Reads every CSV given with a plain pandas.read_csv (no comment=, no skiprows=), as a pandas
user would, and checks that the header is the expected first columns and that the row count
matches the non-comment lines. Exit 0 when all read, 1 with a message per failure, 77 when
Debian's python3-pandas is absent (the caller skips).

Usage: check_pandas_csv.py FILE:COL1,COL2[:ROWS] ...
"""
import sys

try:
    import pandas as pd
except ImportError:
    print("python3-pandas is not installed", file=sys.stderr)
    sys.exit(77)

bad = 0
for arg in sys.argv[1:]:
    path, cols, *rows = arg.split(":")
    want = cols.split(",")
    try:
        df = pd.read_csv(path)
    except Exception as e:  # noqa: BLE001 - any failure to read is the finding
        print(f"{path}: pandas.read_csv failed: {e}")
        bad += 1
        continue
    got = [str(c) for c in df.columns[: len(want)]]
    if got != want:
        print(f"{path}: columns {list(df.columns)[:8]}, expected to start with {want}")
        bad += 1
    if rows and len(df) != int(rows[0]):
        print(f"{path}: {len(df)} rows, expected {rows[0]}")
        bad += 1
    if any(str(c).startswith("#") for c in df.columns):
        print(f"{path}: a '#' line was read as the header")
        bad += 1
print(f"{len(sys.argv) - 1} files, {bad} problems")
sys.exit(1 if bad else 0)
