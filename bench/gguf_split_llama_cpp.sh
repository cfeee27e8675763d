#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A model split by llama.cpp's own gguf-split runs in Fragua from its first part: the same greedy
# tokens as the whole file and as llama.cpp on the parts, and `fragua quantize` of the parts gives
# the same file as of the whole model. Needs bench/llama_cpp_setup.sh's build plus
# `cmake --build ~/.cache/fragua-bench/llama.cpp/build --target llama-gguf-split`.
# Usage: bench/gguf_split_llama_cpp.sh [MODEL.gguf]   (env FRAGUA, FRAGUA_BENCH_CACHE)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${FRAGUA_BENCH_CACHE:-$HOME/.cache/fragua-bench}"
bin="$cache/llama.cpp/build/bin"
model="${1:-$cache/models/llama-15M-F16.gguf}"
fragua="${FRAGUA:-$root/build/release/fragua}"
[ -x "$fragua" ] || fragua="$root/build/asan/fragua"
[ -x "$bin/llama-gguf-split" ] || { echo "no $bin/llama-gguf-split (see the header)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$bin/llama-gguf-split" --split --split-max-tensors 20 "$model" "$tmp/m" >/dev/null 2>&1
first="$(ls "$tmp"/m-00001-of-*.gguf)"
echo "parts: $(ls "$tmp" | tr '\n' ' ')"
ids=1,450,1200,37,9000,15,600
whole="$("$fragua" generate "$model" --prompt-ids $ids -n 16 --temp 0 2>/dev/null | tr -s ' ' ',' | sed 's/,$//')"
split="$("$fragua" generate "$first" --prompt-ids $ids -n 16 --temp 0 2>/dev/null | tr -s ' ' ',' | sed 's/,$//')"
peer="$("$bin/llama-simple-ids" "$first" 16 $ids 2>/dev/null)"
echo "fragua, whole file:   $whole"
echo "fragua, split parts:  $split"
echo "llama.cpp, split:     $peer"
"$fragua" quantize -q "$first" "$tmp/from-split.gguf" Q8_0 >/dev/null 2>&1
"$fragua" quantize -q "$model" "$tmp/from-whole.gguf" Q8_0 >/dev/null 2>&1
same_q=no
cmp -s "$tmp/from-split.gguf" "$tmp/from-whole.gguf" && same_q=yes
echo "quantize Q8_0 of the parts == of the whole file: $same_q"
[ "$whole" = "$split" ] && [ "$split" = "$peer" ] && [ "$same_q" = yes ]
