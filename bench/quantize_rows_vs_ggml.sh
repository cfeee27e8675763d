#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fragua's block quantizers vs ggml's reference quantizers, one thread, CPU time (see
# bench/peers/quantize_rows_vs_ggml.cpp). Compiles src/tensor/ with the release preset's flags
# (-O3, the baseline x86-64 ISA) against the libggml-base of bench/llama_cpp_setup.sh.
# Usage: bench/quantize_rows_vs_ggml.sh   (env FRAGUA_BENCH_CACHE, CXX)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lib="${FRAGUA_BENCH_CACHE:-$HOME/.cache/fragua-bench}/llama.cpp/build/bin"
[ -f "$lib/libggml-base.so" ] || { echo "no $lib/libggml-base.so: run bench/llama_cpp_setup.sh" >&2; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"${CXX:-c++}" -O3 -DNDEBUG -std=c++20 -I"$root/include" -I"$root/src" "$root/bench/peers/quantize_rows_vs_ggml.cpp" \
  "$root"/src/tensor/*.cpp "$root/src/base/error.cpp" -lfmt -L"$lib" -Wl,-rpath,"$lib" -lggml-base \
  -o "$out/quantize_rows_vs_ggml"
"$out/quantize_rows_vs_ggml"
