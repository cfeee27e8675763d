#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Builds data/materials/lambda.json, the ionic-substitution weights `fragua materials substitute`
reads, so that an installed fragua never reads another program's files.

Source: pymatgen 2022.11.7 (Debian python3-pymatgen, MIT licence, (c) Pymatgen Development
Team), pymatgen/analysis/structure_prediction/data/lambda.json: the log-linear weights of the
substitution model of G. Hautier, C. Fischer, V. Ehrlacher, A. Jain, G. Ceder, "Data Mined Ionic
Substitutions for the Discovery of New Compounds", Inorg. Chem. 50, 656-663 (2011),
doi:10.1021/ic102031h. The numbers are kept as they are; the file is rewritten one
[species1, species2, lambda] triple per line (sorted, so a diff shows a change of the source)
after checking that every entry is a pair of species strings and a finite number.

Usage: make_substitution_table.py [--source PATH] [--out data/materials/lambda.json]
"""
import argparse, json, math, os, sys

SOURCE = "/usr/lib/python3/dist-packages/pymatgen/analysis/structure_prediction/data/lambda.json"


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", default=SOURCE)
    ap.add_argument("--out", default=os.path.join(root, "data", "materials", "lambda.json"))
    a = ap.parse_args()
    rows = json.load(open(a.source))
    for i, r in enumerate(rows):
        ok = (isinstance(r, list) and len(r) == 3 and all(isinstance(s, str) for s in r[:2])
              and isinstance(r[2], (int, float)) and math.isfinite(r[2]))
        if not ok:
            sys.exit(f"{a.source}: entry {i} is not [species, species, number]: {r!r}")
    rows.sort(key=lambda r: (r[0], r[1]))
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(r) for r in rows) + "\n]\n")
    os.replace(tmp, a.out)
    print(f"wrote {a.out}: {len(rows)} pairs", file=sys.stderr)


if __name__ == "__main__":
    main()
