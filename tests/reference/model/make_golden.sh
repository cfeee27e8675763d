#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
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
# Qwen2: q/k/v biases, NeoX RoPE, Qwen2.5's base of 1e6, tied and untied heads.
gen qwen2_gqa_f32 --arch qwen2 --rope-theta 1000000 --seed 18
gen qwen2_tied_f16 --arch qwen2 --kv-heads 1 --tied --dtype f16 --seed 19
# Granite 3.x MoE and Granite 4.0-H shapes (granite4_ref.py): experts with and without a shared
# one, Mamba-2 layers with and without RoPE'd attention, one and two groups, a dense hybrid.
gen granite4_moe_f32 --arch granitemoe --seed 31
gen granite4_moe_shared_f16 --arch granitemoe --experts 6 --experts-used 3 --shared-ff 96 --dtype f16 --tied --seed 32
gen granite4_hybrid_moe_f16 --arch granitehybrid --layers 4 --experts 4 --ff 128 --shared-ff 96 --no-rope --dtype f16 --seed 33
gen granite4_hybrid_dense_f32 --arch granitehybrid --layers 4 --layer-types mama --ssm-groups 2 --seed 34
gen granite4_hybrid_q8_0 --arch granitehybrid --layers 3 --experts 4 --dtype q8_0 --seed 35
echo "$tokens" > "$out/tokens.csv"
for f in "$out"/*.gguf; do
  ref=llama_ref.py
  case "$(basename "$f")" in granite4_*) ref=granite4_ref.py ;; esac
  "${PYTHON:-/usr/bin/python3}" "$here/$ref" "$f" "$tokens" "${f%.gguf}.logits.f32"
done
ls -la "$out"
