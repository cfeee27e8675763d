#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Pairs one run's tree members with another run's attention members through the ensemble's
point rule, cross-fitted as `fragua materials cv --family ensemble` does it, without retraining.

The rule (docs/materials.md, "point rule"; src/materials/ensemble.cpp): gate p = w p_trees +
(1 - w) p_attention, value r = (r_trees + r_attention) / 2, point 0 where p >= 1/2, else the
(1/2 - p) / (1 - p) quantile of a log-normal around log(1 + r) with log spread s (s = 0: r).
(w, s) on the grids 0, 0.1, .., 1 and 0, 0.01, .., 0.6 are chosen for each fold on the other
folds' out-of-fold rows (least absolute error) and score that fold's rows.

TREES is a `cv --family ensemble --predictions` file (its xgboost_* columns); each ATTENTION file
is either such a file (its attention_* columns) or a `cv --family attention --predictions` file.
All files must hold the same rows in the same order with the same folds. Members nest by seed
(member j has seed + 7919 j in both families), so runs of the same seed can be paired freely.
Prints, per attention file: each family's own MAE, the cross-fitted rule (what `cv` would print),
the in-sample optimum (w, s chosen on all rows: optimistic) and the plain equal gate.

Usage: bench/materials_pair.py TREES.csv ATTENTION.csv [ATTENTION2.csv ...]
Needs Debian python3-numpy and python3-scipy.
"""
import csv, os, sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]

import numpy as np
from scipy.stats import norm

GRID_W = [0.1 * k for k in range(11)]
GRID_S = [0.01 * k for k in range(61)]


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"{path}: no rows")
    cols = {k: np.array([float(r[k]) for r in rows]) for k in rows[0] if k not in ("id", "composition")}
    return cols, [r["id"] for r in rows]


def family(cols, name, path):
    pre = name + "_" if name + "_p_zero" in cols else ""
    if "p_zero" not in cols and not pre:
        sys.exit(f"{path}: no {name}_p_zero or p_zero column (not a zero-gated cv --predictions file)")
    return cols[pre + "p_zero"], cols[pre + "value"], cols[pre + "prediction"]


def evaluate(y, fold, pa, va, pb, vb):
    v_mean = 0.5 * (va + vb)
    err = {}
    for w in GRID_W:
        p = w * pa + (1 - w) * pb
        m = p < 0.5
        v = np.maximum(0, v_mean[m])
        z = norm.ppf((0.5 - p[m]) / (1 - p[m]))
        for s in GRID_S:
            out = np.zeros_like(y)
            out[m] = np.maximum(0, np.expm1(np.log1p(v) + s * z)) if s > 0 else v
            err[(w, s)] = np.abs(y - out)

    def fit(mask):
        best = None
        for w in GRID_W:
            sums = [err[(w, s)][mask].sum() for s in GRID_S]
            k = int(np.argmin(sums))
            if best is None or sums[k] < best[0] - 1e-12 * (1 + best[0]):
                best = (sums[k], w, GRID_S[k])
        return best[1], best[2]

    total = np.zeros_like(y)
    chosen = []
    for k in sorted(set(fold.tolist())):
        w, s = fit(fold != k)
        total[fold == k] = err[(w, s)][fold == k]
        chosen.append(f"{w:.1f}/{s:.2f}")
    w, s = fit(np.ones_like(y, bool))
    return total.mean(), err[(w, s)].mean(), err[(GRID_W[5], 0.0)].mean(), chosen


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    trees, ids = load(sys.argv[1])
    y, fold = trees["target"], trees["fold"].astype(int)
    pa, va, pred_a = family(trees, "xgboost", sys.argv[1])
    for path in sys.argv[2:]:
        att, ida = load(path)
        if ida != ids or not np.array_equal(att["target"], y) or not np.array_equal(att["fold"].astype(int), fold):
            sys.exit(f"{path}: not the same rows, targets and folds as {sys.argv[1]}")
        pb, vb, pred_b = family(att, "attention", path)
        cf, ins, plain, chosen = evaluate(y, fold, pa, va, pb, vb)
        print(f"{os.path.basename(path)}: trees {np.abs(y - pred_a).mean():.4f}, attention "
              f"{np.abs(y - pred_b).mean():.4f} | rule cross-fitted {cf:.4f}, in-sample {ins:.4f}, "
              f"plain gate {plain:.4f} | w/s per fold {' '.join(chosen)}")


if __name__ == "__main__":
    main()
