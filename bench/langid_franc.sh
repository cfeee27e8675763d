#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fragua's language identifier vs franc (npm franc-all) on the same held-out sentences (5+ words)
# from the Debian corpus: per-language F1 and sentences per second, interleaved runs, medians.
# Usage: bench/langid_franc.sh [REPEATS]   (needs build/release/fragua; downloads the small
# Debian preset and franc-all into ~/.cache on first use)
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${1:-3}
FRAGUA=build/release/fragua
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/fragua-bench
mkdir -p "$CACHE/franc" "$CACHE/langid"
if [ ! -d "$CACHE/franc/node_modules/franc-all" ]; then
  (cd "$CACHE/franc" && npm install --no-audit --no-fund franc-all@7 >/dev/null)
fi
HELD="$CACHE/langid/heldout.jsonl"
if [ ! -s "$HELD" ]; then
  $FRAGUA -q corpus fetch debian --preset small --out "$CACHE/debian-small"
  # Same deterministic document split as the shipped model's training run.
  $FRAGUA -q corpus langid train "$CACHE"/debian-small/*.jsonl -o "$CACHE/langid/model.bin" --heldout-out "$HELD" >/dev/null
fi
OUT=$(mktemp -d)
for i in $(seq "$REPEATS"); do
  $FRAGUA corpus langid eval "$HELD" --min-words 5 > "$OUT/fragua.$i.txt"
  FRANC_DIR="$CACHE/franc" node bench/langid_franc.mjs "$HELD" > "$OUT/franc.$i.json"
done
python3 - "$OUT" "$REPEATS" <<'PY'
import json, re, statistics, sys
out, reps = sys.argv[1], int(sys.argv[2])
langs = ["es", "ca", "eu", "gl", "pt", "en", "fr", "it", "oc", "ast"]
def f1s(gold, pred):
    res = {}
    for l in langs:
        tp = sum(1 for g, p in zip(gold, pred) if g == l and p == l)
        fp = sum(1 for g, p in zip(gold, pred) if g != l and p == l)
        fn = sum(1 for g, p in zip(gold, pred) if g == l and p != l)
        pr = tp / (tp + fp) if tp + fp else 0
        rc = tp / (tp + fn) if tp + fn else 0
        res[l] = 2 * pr * rc / (pr + rc) if pr + rc else 0
    return res
franc = [json.load(open(f"{out}/franc.{i}.json")) for i in range(1, reps + 1)]
ff1 = f1s(franc[0]["gold"], franc[0]["preds"])
fr_rate = statistics.median(r["n"] / r["seconds"] for r in franc)
fragua_rates, fragua_f1 = [], {}
for i in range(1, reps + 1):
    t = open(f"{out}/fragua.{i}.txt").read()
    fragua_rates.append(float(re.search(r"([\d.]+) sentences/s", t).group(1)))
    for m in re.finditer(r"^\| (\w+) \| \d+ \| [\d.]+ \| [\d.]+ \| ([\d.]+) \|$", t, re.M):
        fragua_f1[m.group(1)] = float(m.group(2))
print(f"held-out sentences (5+ words): {franc[0]['n']}, repeats: {reps} (interleaved; medians)")
print("| lang | Fragua F1 | franc F1 |\n|---|---:|---:|")
for l in langs:
    print(f"| {l} | {fragua_f1.get(l, 0):.4f} | {ff1[l]:.4f} |")
core = ["es", "ca", "eu", "gl", "pt", "en"]
print(f"| macro (es ca eu gl pt en) | {statistics.mean(fragua_f1.get(l, 0) for l in core):.4f} | {statistics.mean(ff1[l] for l in core):.4f} |")
fr = statistics.median(fragua_rates)
print(f"\nspeed: Fragua {fr:,.0f} sentences/s, franc {fr_rate:,.0f} sentences/s, ratio {fr / fr_rate:.1f}x (one thread each)")
PY
rm -rf "$OUT"
