#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Builds data/materials/elements.csv, the element table libfragua's materials code reads.

Sources (all permissive licences; numbers are facts, each column names its source):
  pymatgen 2022.11.7 (Debian python3-pymatgen, MIT): core/periodic_table.json,
      analysis/hhi_data.csv (Gaultois et al., Chem. Mater. 25, 2911 (2013)),
      analysis/costdb_elements.csv (2013 prices, Wolfram Alpha / Wikipedia).
  SMACT (WMD-group/SMACT @ d1a17d70, MIT): data/oxidation_states.txt (the 2014 "smact14"
      set), data/element_data.txt (Pauling electronegativity; crustal abundance in mg/kg from
      the CRC Handbook 92nd ed.; seven values corrected from the 97th ed., ABUNDANCE_CORRECTIONS).
  Magpie element data (Ward et al., npj Comput. Mater. 2, 16028 (2016); distributed with
      matminer @ 8ddb18c7, BSD-3-Clause-LBNL): CovalentRadius, GSbandgap, GSvolume_pa,
      GSmagmom, SpaceGroupNumber (OQMD T=0 K DFT values for the elemental ground states).

Usage: make_element_table.py [--pymatgen DIR] [--shared DIR] [--out data/materials/elements.csv]
"""
import argparse, csv, io, json, os, re, sys

PYMATGEN_DEFAULT = "/usr/lib/python3/dist-packages/pymatgen"

# Crustal abundances (mg/kg) where SMACT's element_data.txt disagrees with the CRC Handbook of
# Chemistry and Physics, 97th ed. (2016), section 14, "Abundance of elements in the Earth's crust
# and in the sea", which it cites: transcription errors by factors of 100 (S 3.5 is Ar's value,
# Lu 80, Nb 220 vs 20), zeros for Po and Ac, and Ru and Rn missing. Checked by
# tests/materials/elements_test.cpp (ElementTableCrossCheck).
ABUNDANCE_CORRECTIONS = {"S": 350.0, "Nb": 20.0, "Lu": 0.8, "Ru": 0.001, "Po": 2e-10, "Ac": 5.5e-10,
                         "Rn": 4e-13}


def leading_float(s):
    if isinstance(s, (int, float)):
        return float(s)
    if not isinstance(s, str):
        return None
    # "302.91 K", "about 300 K", "(white P) 317.3 K": the first number after any parenthesis.
    s = re.sub(r"\([^)]*\)", "", s)
    m = re.match(r"\s*(?:maybe\s+)?(?:about\s+)?([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)", s)
    return float(m.group(1)) if m else None


def num(v):
    return float(v) if isinstance(v, (int, float)) and v == v else None


def period_and_group(z):
    # Row/column of the long-form table; La-Lu and Ac-Lr in column 3 (Magpie's convention).
    bounds = [(1, 2), (3, 10), (11, 18), (19, 36), (37, 54), (55, 86), (87, 118)]
    for row, (lo, hi) in enumerate(bounds, start=1):
        if lo <= z <= hi:
            break
    i = z - lo
    if row == 1:
        return row, 1 if z == 1 else 18
    if row in (2, 3):
        return row, i + 1 if i < 2 else i + 11
    if row in (4, 5):
        return row, i + 1
    # rows 6, 7: s (2), f block (15 entries incl. La/Ac), d (9 more), p (6)
    if i < 2:
        return row, i + 1
    if i < 17:
        return row, 3
    return row, i - 13  # i=17 -> Hf/Rf column 4


def valence_counts(structure):
    # "[Xe].4f<sup>14</sup>.5d<sup>10</sup>.6s<sup>2</sup>.6p<sup>2</sup>": electrons outside the
    # noble-gas core by orbital type (Magpie's N*Valence definition).
    counts = {"s": 0, "p": 0, "d": 0, "f": 0}
    for part in structure.split("."):
        m = re.match(r"(\d)([spdf])<sup>(\d+)</sup>", part)
        if m:
            counts[m.group(2)] += int(m.group(3))
    return counts


def read_magpie(path):
    vals = []
    with open(path) as f:
        for line in f:
            t = line.strip()
            vals.append(None if t in ("Missing", "") else float(t))
    return vals


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pymatgen", default=PYMATGEN_DEFAULT)
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap.add_argument("--shared", default=os.path.join(root, "..", "shared", "data", "materials", "elements"))
    ap.add_argument("--out", default=os.path.join(root, "data", "materials", "elements.csv"))
    a = ap.parse_args()

    pt = json.load(open(os.path.join(a.pymatgen, "core", "periodic_table.json")))
    hhi = {}
    for line in open(os.path.join(a.pymatgen, "analysis", "hhi_data.csv")):
        if line.startswith("#") or not line.strip():
            continue
        el, p, r = line.strip().split(",")[:3]
        hhi[el] = (float(p), float(r))
    cost = {}
    for line in open(os.path.join(a.pymatgen, "analysis", "costdb_elements.csv")):
        parts = line.split(",")
        if len(parts) >= 2 and parts[0].strip():
            cost[parts[0].strip()] = float(parts[1])
    ox14 = {}
    for line in open(os.path.join(a.shared, "smact", "oxidation_states.txt")):
        if line.startswith("#") or not line.strip():
            continue
        f = line.split()
        ox14[f[0]] = [int(x) for x in f[1:]]
    smact_en, abundance = {}, {}
    for line in open(os.path.join(a.shared, "smact", "element_data.txt")):
        if line.startswith("#") or not line.strip():
            continue
        f = line.split()
        smact_en[f[0]] = None if f[9] == "None" else float(f[9])
        abundance[f[0]] = None if f[8] == "None" else float(f[8])
    abundance.update(ABUNDANCE_CORRECTIONS)
    mag = {name: read_magpie(os.path.join(a.shared, "magpie_elementdata", name + ".table"))
           for name in ("CovalentRadius", "GSbandgap", "GSvolume_pa", "GSmagmom", "SpaceGroupNumber")}

    by_z = sorted(pt.items(), key=lambda kv: kv[1]["Atomic no"])
    cols = ["symbol", "name", "z", "mass", "mendeleev", "row", "group", "pauling_en", "smact_en",
            "melting_k", "boiling_k", "molar_volume_cm3", "density_kg_m3", "atomic_radius",
            "covalent_radius_pm", "vdw_radius", "ionization_ev", "electron_affinity_ev",
            "ns_val", "np_val", "nd_val", "nf_val", "ns_unf", "np_unf", "nd_unf", "nf_unf",
            "gs_bandgap_ev", "gs_volume_pa", "gs_magmom", "space_group",
            "abundance_mg_kg", "hhi_p", "hhi_r", "cost_usd_kg",
            "ox_smact14", "ox_common", "ox_icsd"]
    out = io.StringIO()
    out.write("# fragua element table v1 (generated by scripts/materials/make_element_table.py)\n")
    out.write("# sources: pymatgen 2022.11.7 periodic_table.json, hhi_data.csv, costdb_elements.csv "
              "(MIT); SMACT @d1a17d70 oxidation_states.txt, element_data.txt (MIT); "
              "Magpie tables via matminer @8ddb18c7 (BSD-3-Clause-LBNL). See data/materials/README.md\n")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(cols)

    def fmt(v):
        if v is None:
            return ""
        if isinstance(v, float):
            return repr(round(v, 6)) if v != int(v) or abs(v) > 1e15 else str(int(v))
        return str(v)

    def trace(v):
        # Trace abundances (Po 2e-10 mg/kg) would round to 0 at six decimals.
        return f"{v:g}" if v is not None and 0 < v < 1e-4 else v

    for sym, e in by_z:
        z = e["Atomic no"]
        row, group = period_and_group(z)
        vc = valence_counts(e.get("Electronic structure", ""))
        cap = {"s": 2, "p": 6, "d": 10, "f": 14}
        unf = {k: (cap[k] - vc[k]) if vc[k] > 0 else 0 for k in cap}
        ion = e.get("Ionization energies") or []
        mg = lambda name: mag[name][z - 1] if z - 1 < len(mag[name]) else None
        rec = [sym, e.get("Name", ""), z, num(e.get("Atomic mass")), e.get("Mendeleev no"), row, group,
               num(e.get("X")),
               smact_en.get(sym), leading_float(e.get("Melting point")),
               leading_float(e.get("Boiling point")), leading_float(e.get("Molar volume")),
               leading_float(e.get("Density of solid")), num(e.get("Atomic radius")),
               mg("CovalentRadius"), num(e.get("Van der waals radius")),
               ion[0] if ion and ion[0] is not None else None,
               num(e.get("Electron affinity")),
               vc["s"], vc["p"], vc["d"], vc["f"], unf["s"], unf["p"], unf["d"], unf["f"],
               mg("GSbandgap"), mg("GSvolume_pa"), mg("GSmagmom"), mg("SpaceGroupNumber"),
               trace(abundance.get(sym)), *(hhi.get(sym, (None, None))), cost.get(sym),
               ";".join(str(x) for x in ox14.get(sym, [])),
               ";".join(str(x) for x in e.get("Common oxidation states", [])),
               ";".join(str(x) for x in e.get("ICSD oxidation states", []))]
        w.writerow([fmt(v) for v in rec])
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(out.getvalue())
    os.replace(tmp, a.out)
    print(f"wrote {a.out}: {len(by_z)} elements", file=sys.stderr)


if __name__ == "__main__":
    main()
