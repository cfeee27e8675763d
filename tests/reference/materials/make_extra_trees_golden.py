#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Reference for tests/materials/extra_trees_test.cpp: scikit-learn's ExtraTreesClassifier (the
algorithm of Geurts et al. 2006 that src/materials/extra_trees.cpp implements) on a fixed noisy
problem, with the data it was fitted on. The two forests draw different random numbers, so the
test compares their probabilities and AUCs statistically, not bit for bit.
Run: python3 tests/reference/materials/make_extra_trees_golden.py  (Debian python3-sklearn)
"""
import json, os
import numpy as np
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.metrics import roc_auc_score

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.RandomState(11)
def draw(n):
    x = rng.rand(n, 6)
    # Label 1 above a curved boundary in the first two features, 15% of labels flipped; the
    # other four features are noise.
    y = (x[:, 0] + x[:, 1] ** 2 > 0.9).astype(int)
    flip = rng.rand(n) < 0.15
    return x, np.where(flip, 1 - y, y)
x, y = draw(400)
xt, yt = draw(300)
x, xt = x.astype(np.float32), xt.astype(np.float32)
et = ExtraTreesClassifier(n_estimators=500, max_features=0.5, random_state=0, n_jobs=2).fit(x, y)
p = et.predict_proba(xt)[:, 1]
out = {"n_trees": 500, "max_features": 0.5, "x": x.ravel().tolist(), "y": y.tolist(), "x_test": xt.ravel().tolist(),
       "y_test": yt.tolist(), "p_sklearn": p.tolist(), "auc_sklearn": roc_auc_score(yt, p),
       "train_p_sklearn_mean": float(et.predict_proba(x)[:, 1].mean())}
with open(os.path.join(here, "extra_trees.json"), "w") as f:
    json.dump(out, f)
print("auc", out["auc_sklearn"])

# For the test's bounds: how far scikit-learn's own forests land from the reference (not stored).
from sklearn.ensemble import RandomForestClassifier
def compare(name, model):
    q = model.fit(x, y).predict_proba(xt)[:, 1]
    print("%-26s mean |dp| %.4f, max %.3f, correlation %.4f, AUC %.4f" % (
        name, np.abs(q - p).mean(), np.abs(q - p).max(), np.corrcoef(q, p)[0, 1], roc_auc_score(yt, q)))
for s in (1, 2, 3):
    compare("extra trees, seed %d" % s, ExtraTreesClassifier(500, max_features=0.5, random_state=s))
compare("random forest", RandomForestClassifier(500, max_features=0.5, random_state=1))
compare("extra trees, max_features 1", ExtraTreesClassifier(500, max_features=1.0, random_state=1))
compare("extra trees, min split 10", ExtraTreesClassifier(500, max_features=0.5, min_samples_split=10, random_state=1))
