#!/usr/bin/env bash
# Regenerates the model fixtures (random-weight GGUF files written by Fragua's writer) and their
# golden logits from the independent PyTorch reference (llama_ref.py).
# Usage: tests/reference/model/make_golden.sh [path/to/fragua]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fragua="${1:-$here/../../../build/release/fragua}"
out="$here/golden"
mkdir -p "$out"
tokens="1,17,300,42,99,7,511,256,3,128,64,200,5,77,431,12,9,18,260,33,101,480,2,250"
gen() { local name=$1; shift; "$fragua" dev random-model "$out/$name.gguf" "$@"; }
gen llama_gqa_f32 --arch llama --seed 11
gen llama_mha_f16 --arch llama --kv-heads 4 --dtype f16 --seed 12
gen llama3_mqa_f32 --arch llama --kv-heads 1 --llama3-rope --rope-theta 500000 --seed 13
gen granite_tied_f32 --arch granite --tied --seed 14
gen llama_q8_0 --arch llama --dtype q8_0 --seed 15
gen llama_q4_0 --arch llama --dtype q4_0 --seed 16
gen llama_q4_k --arch llama --dtype q4_k --embd 256 --ff 512 --heads 4 --kv-heads 2 --seed 17
echo "$tokens" > "$out/tokens.csv"
for f in "$out"/*.gguf; do
  "${PYTHON:-/usr/bin/python3}" "$here/llama_ref.py" "$f" "$tokens" "${f%.gguf}.logits.f32"
done
ls -la "$out"
