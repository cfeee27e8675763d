#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Golden outputs for tests/materials from independent implementations: scikit-learn (KFold,
metrics), numpy (RandomState), pymatgen (formula parsing, HHI, Hautier substitution
probabilities) and a plain-numpy Magpie featurizer written from Ward et al. 2016.
Run: python3 tests/reference/materials/make_golden.py  (Debian python3-sklearn, python3-pymatgen)
"""
import csv, json, math, os
import numpy as np
from sklearn.model_selection import KFold
from sklearn.metrics import roc_auc_score, mean_absolute_error, mean_squared_error

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(os.path.dirname(here)))
out = {}

# --- KFold, Matbench protocol -------------------------------------------------------------
folds = {}
for n in (7, 37, 3683, 4604):
    a = [0] * n
    for f, (_, test) in enumerate(KFold(n_splits=5, shuffle=True, random_state=18012019).split(np.zeros(n))):
        for i in test:
            a[i] = f
    folds[str(n)] = a
out["kfold_18012019"] = folds
out["permutation_seed0_n10"] = np.random.RandomState(0).permutation(10).tolist()
out["permutation_seed4294967295_n1000_head"] = np.random.RandomState(4294967295).permutation(1000)[:20].tolist()

# --- metrics ------------------------------------------------------------------------------
rng = np.random.RandomState(7)
labels = (rng.rand(200) < 0.4).astype(int)
scores = np.round(rng.rand(200) + 0.3 * labels, 1)  # rounding makes ties
y = rng.rand(50) * 3
p = y + rng.randn(50) * 0.3
out["metrics"] = {"labels": labels.tolist(), "scores": scores.tolist(),
                  "auc": roc_auc_score(labels, scores), "y": y.tolist(), "pred": p.tolist(),
                  "mae": mean_absolute_error(y, p), "rmse": math.sqrt(mean_squared_error(y, p))}

# --- pymatgen: formulas, HHI, substitution probabilities ------------------------------------
from pymatgen.core import Composition
from pymatgen.analysis.hhi import HHIModel
from pymatgen.analysis.structure_prediction.substitution_probability import SubstitutionProbability
formulas = ["GaAs", "CdTe", "Cu2ZnSnS4", "Ag(W3Br7)2", "Ag0.5Ge1Pb1.75S4", "Fe2O3", "SiO2",
            "CH3NH3PbI3", "Bi2Te3", "ZnO", "MoS2", "CsPbI3", "LiFePO4", "Zn3P2", "In2O3"]
hhi = HHIModel()
comps = {}
for f in formulas:
    c = Composition(f)
    comps[f] = {"amounts": {str(e): float(a) for e, a in c.get_el_amt_dict().items()},
                "hhi": list(hhi.get_hhi(c))}
out["compositions"] = comps
sp = SubstitutionProbability()
pairs = [("Zn2+", "Cd2+"), ("Cd2+", "Zn2+"), ("Ga3+", "In3+"), ("S2-", "Se2-"), ("O2-", "S2-"),
         ("Cu+", "Ag+"), ("Sn4+", "Ge4+"), ("Pb2+", "Sn2+"), ("Na+", "Cl-"), ("Fe3+", "Al3+")]
out["substitution"] = [{"s1": a, "s2": b, "cond_prob": sp.cond_prob(a, b), "prob": sp.prob(a, b)}
                       for a, b in pairs]

# --- Magpie features from data/materials/elements.csv (numpy, from the paper) ---------------
rows = {}
with open(os.path.join(root, "data", "materials", "elements.csv")) as fh:
    lines = [l for l in fh if not l.startswith("#")]
for r in csv.DictReader(lines):
    rows[r["symbol"]] = r
def val(sym, name):
    r = rows[sym]
    if name == "n_val":
        return sum(float(r[k]) for k in ("ns_val", "np_val", "nd_val", "nf_val"))
    if name == "n_unf":
        return sum(float(r[k]) for k in ("ns_unf", "np_unf", "nd_unf", "nf_unf"))
    return float(r[name]) if r[name] != "" else float("nan")
props = ["z", "mendeleev", "mass", "melting_k", "group", "row", "covalent_radius_pm", "pauling_en",
         "ns_val", "np_val", "nd_val", "nf_val", "n_val", "ns_unf", "np_unf", "nd_unf", "nf_unf",
         "n_unf", "gs_volume_pa", "gs_bandgap_ev", "gs_magmom", "space_group", "ionization_ev",
         "electron_affinity_ev", "molar_volume_cm3"]
feat = {}
for f in ["GaAs", "Cu2ZnSnS4", "Ag0.5Ge1Pb1.75S4", "Fe2O3", "MoS2", "LiFePO4"]:
    amt = Composition(f).get_el_amt_dict()
    syms = list(amt)
    x = np.array([amt[s] for s in syms], float)
    x /= x.sum()
    d = {}
    for pname in props:
        v = np.array([val(s, pname) for s in syms])
        m = float((x * v).sum())
        top = x.max()
        d["mean_" + pname] = m
        d["avgdev_" + pname] = float((x * np.abs(v - m)).sum())
        d["min_" + pname] = float(v.min())
        d["max_" + pname] = float(v.max())
        d["range_" + pname] = float(v.max() - v.min())
        # A property missing for any element makes all six statistics undefined.
        d["mode_" + pname] = float("nan") if np.isnan(v).any() else float(min(v[i] for i in range(len(v)) if abs(x[i] - top) < 1e-12))
    for pn in (0, 2, 3, 5, 7, 10):
        d["pnorm_%d" % pn] = float(len(syms)) if pn == 0 else float((x ** pn).sum() ** (1.0 / pn))
    orb = {o: float(sum(x[i] * val(s, "n%s_val" % o) for i, s in enumerate(syms))) for o in "spdf"}
    tot = sum(orb.values())
    for o in "spdf":
        d["frac_%s_valence" % o] = orb[o] / tot
    en = [val(s, "pauling_en") for s in syms]
    ic = [[1 - math.exp(-0.25 * (en[i] - en[j]) ** 2) for j in range(len(syms))] for i in range(len(syms))]
    d["max_ionic_char"] = max(max(r) for r in ic)
    d["mean_ionic_char"] = float(sum(x[i] * x[j] * ic[i][j] for i in range(len(syms)) for j in range(len(syms))))
    # Atomic fractions of every element in the table (ElemNet's input, Jha et al. 2018).
    for sym in rows:
        d["x_" + sym] = float(x[syms.index(sym)]) if sym in syms else 0.0
    feat[f] = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}
out["features"] = feat

with open(os.path.join(here, "golden.json"), "w") as fh:
    json.dump(out, fh, indent=0, sort_keys=True)
print("wrote", os.path.join(here, "golden.json"))
