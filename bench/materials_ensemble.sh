#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Band-gap 5-fold CV (Matbench protocol, fixed folds) of the two-family ensemble over several
# model seeds. One ensemble CV trains both families in every fold, so its output also gives each
# family's own out-of-fold MAE from the same members ("its xgboost part alone ..."); the script
# ends with the mean and spread (max - min) over the seeds of the three MAEs and the calibrated
# coverage lines. Optionally the simulated discovery campaign. Writes the logs and out-of-fold
# predictions under $OUT (default /tmp/fragua-materials-bench).
#
# Usage: bench/materials_ensemble.sh [seeds (default "42 1 7")]
# Env: FRAGUA (default build/release/fragua), DATA (default the shared 80% split), OUT, THREADS (2),
#      SIZE=full|reduced (default full: 5 members x 500 rounds, 100 epochs; reduced: 3 members x
#      300 rounds, 40 epochs), CAMPAIGN=1 to run the campaign afterwards (5 seeds).
# Time on 2 quiet cores (release build): see docs/benchmarks/materials.md.
set -euo pipefail
cd "$(dirname "$0")/.."
FRAGUA=${FRAGUA:-build/release/fragua}
DATA=${DATA:-../shared/data/materials/matbench_expt_gap_train80.csv}
OUT=${OUT:-/tmp/fragua-materials-bench}
THREADS=${THREADS:-2}
SIZE=${SIZE:-full}
CAMPAIGN=${CAMPAIGN:-0}
SEEDS=${1:-42 1 7}
case "$SIZE" in
  full) size_flags=() ;;
  reduced) size_flags=(--models 3 --rounds 300 --epochs 40) ;;
  *) echo "SIZE must be full or reduced, not '$SIZE'" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
export OMP_NUM_THREADS=1
for seed in $SEEDS; do
  log="$OUT/cv-ensemble-$SIZE-seed$seed.txt"
  start=$(date +%s)
  "$FRAGUA" -q materials cv --data "$DATA" --family ensemble --seed "$seed" -t "$THREADS" "${size_flags[@]}" \
    --predictions "$OUT/cv-ensemble-$SIZE-seed$seed.csv" >"$log" 2>&1
  echo "seed $seed ($(( $(date +%s) - start )) s):"
  grep -E '^cv |part alone|^errors within|^  gate predicts' "$log" | sed 's/^/  /'
  # The point rule chosen for each fold (on the other folds' rows: gate weight, mixture median's
  # log spread) and the MAE the equal-weight plain gated point would have had.
  echo "  per fold: $(grep -oE '"(mae|mae_plain_gate|gate_weight|point_log_spread)":[0-9.]+' "$log" | tr '\n' ' ')"
done
# Mean and spread over the seeds.
for seed in $SEEDS; do cat "$OUT/cv-ensemble-$SIZE-seed$seed.txt"; done | awk '
  /^cv / { for (i = 1; i <= NF; ++i) if ($i == "mae") v["ensemble"] = v["ensemble"] " " $(i + 1) }
  /part alone/ { for (i = 1; i <= NF; ++i) if ($i == "mae") v[$2] = v[$2] " " $(i + 1) }
  END {
    for (k in v) {
      n = split(v[k], a, " "); s = 0; lo = 1e9; hi = -1e9
      for (i = 1; i <= n; ++i) { s += a[i]; if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
      printf "%-10s CV MAE over %d seeds: mean %.4f, spread %.4f (%.4f-%.4f)\n", k, n, s / n, hi - lo, lo, hi
    }
  }'
if [ "$CAMPAIGN" = 1 ]; then
  # The discovery loop: 50 labelled compounds, 10 rounds of 5, photovoltaic window, a lab that
  # will not use toxic or critical elements; 5 seeds.
  "$FRAGUA" materials campaign --data "$DATA" --initial 50 --iterations 10 --per-round 5 --seeds 1,2,3,4,5 \
    --gap-min 1.1 --gap-max 1.8 --no-toxic --no-critical -t "$THREADS" \
    --out "$OUT/campaign.csv" --plot "$OUT/campaign.svg" | tee "$OUT/campaign.txt"
fi
