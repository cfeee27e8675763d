#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The layering check (docs/architecture.md): the arrows CMake links (build/<preset>/arrows.txt)
must equal the table in docs/architecture.md, and no source under src/ may include a header
against them: a public header "fragua/<x>/..." of a subsystem it may not use, a private header
"<x>/..." of another subsystem, or a path that climbs out of its folder ("../")."""
import argparse
import os
import re
import sys


def read_doc_table(path):
    arrows = {}
    in_table = False
    for line in open(path, encoding="utf-8"):
        if line.startswith("| subsystem | may use |"):
            in_table = True
            continue
        if in_table:
            if not line.startswith("|"):
                break
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if set(cells[0]) <= set("-"):
                continue
            uses = [] if cells[1] in ("—", "-", "") else [u.strip() for u in cells[1].split(",")]
            arrows[cells[0]] = uses
    return arrows


def read_cmake_arrows(path):
    arrows = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line:
            continue
        sub, _, deps = line.partition(":")
        arrows[sub] = [d for d in deps.split(";") if d]
    return arrows


def closure(arrows, sub):
    seen, stack = set(), list(arrows.get(sub, []))
    while stack:
        x = stack.pop()
        if x not in seen:
            seen.add(x)
            stack.extend(arrows.get(x, []))
    return seen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arrows", required=True)
    ap.add_argument("--doc", required=True)
    ap.add_argument("--src", required=True)
    a = ap.parse_args()
    doc = read_doc_table(a.doc)
    cmake = read_cmake_arrows(a.arrows)
    problems = []
    for sub, deps in cmake.items():
        if sub not in doc:
            problems.append(f"{a.doc}: subsystem '{sub}' is built but has no row in the arrows table")
        elif sorted(doc[sub]) != sorted(deps):
            problems.append(f"arrows of '{sub}': CMake links {sorted(deps)}, {a.doc} allows {sorted(doc[sub])}")
    subsystems = set(doc) | set(cmake)
    for root, _, files in os.walk(a.src):
        for f in files:
            path = os.path.join(root, f)
            sub = os.path.relpath(path, a.src).split(os.sep)[0]
            if sub == "cli" or sub not in subsystems:
                continue
            allowed = closure(doc, sub) | {sub}
            for n, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
                m = re.match(r'\s*#\s*include\s*"([^"]+)"', line)
                if not m:
                    continue
                inc = m.group(1)
                where = f"{path}:{n}"
                if "../" in inc:
                    problems.append(f"{where}: include climbs out of its folder: {inc}")
                    continue
                parts = inc.split("/")
                if parts[0] == "fragua" and len(parts) > 2 and parts[1] not in allowed:
                    problems.append(f"{where}: {sub} may not use {parts[1]} ({inc}); allowed: {sorted(allowed - {sub})}")
                elif parts[0] in subsystems and parts[0] != sub:
                    problems.append(f"{where}: private header of {parts[0]} included from {sub}: {inc}")
    for p in problems:
        print(p)
    print(f"check_layering: {len(cmake)} subsystems, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
