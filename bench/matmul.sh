#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Regenerates the table of docs/benchmarks/kernels.md: cpu::matmul throughput per weight dtype,
# SIMD level and thread count for W 4096 x 4096, n = 1 (token generation) and n = 512 (prompt).
# The scalar level runs n = 1 only (its n = 512 takes minutes and says nothing new).
#   bench/matmul.sh [build dir, default build/release]
set -euo pipefail
build="${1:-build/release}"
bin="$build/bench_matmul"
[ -x "$bin" ] || { echo "build first: cmake --build --preset release --target bench_matmul" >&2; exit 1; }
echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for t in 1 2; do
  "$bin" --threads "$t" --levels scalar --n 1 --reps 5
  "$bin" --threads "$t" --levels avx2,avx512 --n 1,512 --reps 5 | tail -n +3
done
