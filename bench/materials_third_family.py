#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Would a third tree family help the band-gap ensemble? An offline probe with scikit-learn.

Trains a third family on the same features and Matbench folds as a `fragua materials cv --family
ensemble --predictions` run (zero gate: a classifier for gap == 0 on all rows, a regressor on
log(1 + gap) of the non-zero rows), then combines it with that run's trees and attention columns
by a three-way version of the ensemble's point rule, cross-fitted as `cv` does: gate
p = w1 p_trees + w2 p_attention + w3 p_third (w on the 0.1 simplex), value the mean of the
families' values (all three, or the two of the shipped ensemble), point 0 where p >= 1/2, else
the mixture median with log spread s (0, 0.02, .., 0.5); each fold's (w, s) chosen on the other
folds' rows. The first line re-fits the shipped two-family rule on the coarser s grid, for scale.

Families: et = extremely randomized trees (Geurts, Ernst & Wehenkel 2006), rf = random forest;
500 trees, 30% of the features per split, NaN imputed by the column mean, random_state = SEED.

Usage: bench/materials_third_family.py OOF.csv FEATURES.csv SEED [et,rf,P.csv]
  P.csv (any entry ending in .csv): a third gate computed elsewhere, columns id,p_third, e.g. by
  Fragua's own extremely randomized trees (build/release/bench_materials_extra_trees_oof); only
  its gate is combined (3 gates, 2 values).
  OOF.csv: `cv --family ensemble --seed SEED --predictions OOF.csv`
  FEATURES.csv: `fragua materials featurize --data <the same data> -o FEATURES.csv`
Needs Debian python3-sklearn, python3-scipy. About 30 s per family on 2 cores.
"""
import csv, os, sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]

import numpy as np
from scipy.stats import norm
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline

GRID_S = [0.02 * k for k in range(26)]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    oof_path, feat_path, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    kinds = sys.argv[4].split(",") if len(sys.argv) > 4 else ["et", "rf"]
    with open(oof_path, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(feat_path, newline="") as f:
        frows = list(csv.DictReader(f))
    if [r["id"] for r in frows] != [r["id"] for r in rows]:
        sys.exit(f"{feat_path}: not the rows of {oof_path} in the same order")
    col = lambda k: np.array([float(r[k]) for r in rows])
    y, fold = col("target"), col("fold").astype(int)
    target_name = list(frows[0])[-1]  # featurize writes the target last
    names = [c for c in frows[0] if c not in ("id", "composition", target_name)]
    x = np.array([[float(r[c]) if r[c] not in ("", "nan", "NaN") else np.nan for c in names] for r in frows])

    def family(kind):
        p, v = np.zeros_like(y), np.zeros_like(y)
        make = {"et": (ExtraTreesClassifier, ExtraTreesRegressor), "rf": (RandomForestClassifier, RandomForestRegressor)}
        clf_t, reg_t = make[kind]
        for k in sorted(set(fold.tolist())):
            tr, te = fold != k, fold == k
            clf = make_pipeline(SimpleImputer(), clf_t(500, max_features=0.3, n_jobs=2, random_state=seed))
            reg = make_pipeline(SimpleImputer(), reg_t(500, max_features=0.3, n_jobs=2, random_state=seed))
            clf.fit(x[tr], (y[tr] == 0).astype(int))
            p[te] = clf.predict_proba(x[te])[:, 1]
            nz = tr & (y > 0)
            reg.fit(x[nz], np.log1p(y[nz]))
            v[te] = np.expm1(reg.predict(x[te]))
        return p, v

    def rule(ps, vs, weights):
        err = {}
        vv = sum(vs) / len(vs)
        for w in weights:
            p = sum(wi * pi for wi, pi in zip(w, ps))
            m = p < 0.5
            v = np.maximum(0, vv[m])
            z = norm.ppf(np.clip((0.5 - p[m]) / (1 - p[m]), 1e-12, 1 - 1e-12))
            for s in GRID_S:
                out = np.zeros_like(y)
                out[m] = np.maximum(0, np.expm1(np.log1p(v) + s * z)) if s > 0 else v
                err[(w, s)] = np.abs(y - out)
        fit = lambda mask: min(err, key=lambda key: err[key][mask].sum())
        total, chosen = np.zeros_like(y), []
        for k in sorted(set(fold.tolist())):
            key = fit(fold != k)
            total[fold == k] = err[key][fold == k]
            chosen.append(key[0])
        return total.mean(), err[fit(np.ones_like(y, bool))].mean(), chosen

    ps = [col("xgboost_p_zero"), col("attention_p_zero")]
    vs = [col("xgboost_value"), col("attention_value")]
    w2 = [(a / 10, round(1 - a / 10, 1)) for a in range(11)]
    w3 = [(a / 10, b / 10, round(1 - a / 10 - b / 10, 1)) for a in range(11) for b in range(11 - a)]
    cf, ins, _ = rule(ps, vs, w2)
    print(f"{os.path.basename(oof_path)}: trees + attention (shipped rule, s grid 0.02): cross-fitted {cf:.4f}, "
          f"in-sample {ins:.4f}")
    for kind in kinds:
        if kind.endswith(".csv"):
            with open(kind, newline="") as f:
                ext = list(csv.DictReader(f))
            if [r["id"] for r in ext] != [r["id"] for r in rows]:
                sys.exit(f"{kind}: not the rows of {oof_path} in the same order")
            p3 = np.array([float(r["p_third"]) for r in ext])
            cf, ins, chosen = rule(ps + [p3], vs, w3)
            print(f"  + {os.path.basename(kind)}, 3 gates, 2 values: cross-fitted {cf:.4f}, in-sample {ins:.4f}; "
                  "gate weights per fold " + " ".join("/".join(f"{w:.1f}" for w in c) for c in chosen))
            continue
        p3, v3 = family(kind)
        alone = np.abs(y - np.where(p3 >= 0.5, 0, v3)).mean()
        print(f"  {kind} alone (0 where p >= 1/2): {alone:.4f}; value MAE on gap > 0: {np.abs(y - v3)[y > 0].mean():.4f}")
        for label, vals in (("3 gates, 2 values", vs), ("3 gates, 3 values", vs + [v3])):
            cf, ins, chosen = rule(ps + [p3], vals, w3)
            print(f"  + {kind}, {label}: cross-fitted {cf:.4f}, in-sample {ins:.4f}; gate weights per fold "
                  + " ".join("/".join(f"{w:.1f}" for w in c) for c in chosen))


if __name__ == "__main__":
    main()
