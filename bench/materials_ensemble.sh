#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Band-gap 5-fold CV (Matbench protocol) of each family and of the two-family ensemble over
# several seeds, with the coverage of 1 and 2 std before and after calibration, then the
# simulated discovery campaign. Writes the `cv ...` summary lines and the campaign table and plot
# under $OUT (default /tmp/fragua-materials-bench). CPU-heavy: about 20-40 min per seed for the
# three CVs on 2 quiet cores; run it in a quiet window.
#
# Usage: bench/materials_ensemble.sh [seeds (default "42 1 7")]
# Env: FRAGUA (default build/release/fragua), DATA (default the shared 80% split), OUT, THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
FRAGUA=${FRAGUA:-build/release/fragua}
DATA=${DATA:-../shared/data/materials/matbench_expt_gap_train80.csv}
OUT=${OUT:-/tmp/fragua-materials-bench}
THREADS=${THREADS:-2}
SEEDS=${1:-42 1 7}
mkdir -p "$OUT"
export OMP_NUM_THREADS=1
for seed in $SEEDS; do
  for family in xgboost attention ensemble; do
    log="$OUT/cv-$family-seed$seed.txt"
    start=$(date +%s)
    "$FRAGUA" materials cv --data "$DATA" --family "$family" --seed "$seed" -t "$THREADS" \
      --predictions "$OUT/cv-$family-seed$seed.csv" >"$log" 2>&1
    echo "$family seed $seed ($(( $(date +%s) - start )) s): $(grep -E '^cv |^errors within' "$log" | tr '\n' ' ')"
  done
done
# The discovery loop: 50 labelled compounds, 10 rounds of 5, photovoltaic window, a lab that will
# not use toxic or critical elements; 5 seeds.
"$FRAGUA" materials campaign --data "$DATA" --initial 50 --iterations 10 --per-round 5 --seeds 1,2,3,4,5 \
  --gap-min 1.1 --gap-max 1.8 --no-toxic --no-critical -t "$THREADS" \
  --out "$OUT/campaign.csv" --plot "$OUT/campaign.svg" | tee "$OUT/campaign.txt"
