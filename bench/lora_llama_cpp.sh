#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A LoRA adapter written by `fragua finetune --lora` loads in llama.cpp and gives the same greedy
# continuation as `fragua generate --lora` on the same base, and as the merged model (`--merge`).
# Compared as token ids, never text: llama.cpp's side is bench/peers/llama_greedy_ids.cpp
# (llama-simple-ids of bench/llama_cpp_setup.sh) with the adapter as its 4th argument
# (llama_adapter_lora_init + llama_set_adapters_lora, what `llama-cli --lora` does), so bytes that
# are not valid UTF-8 cannot get in the way (llama-server answered 500 on them).
# The base is a random llama GGUF (F32, seeded); the adapter is trained by Fragua (with LoRA
# dropout, seeded) on synthetic chat data so that it changes the model. Everything is seeded, so
# a rerun compares the same ids. Prints "N/N tokens agree" and exits 0 when llama.cpp and both
# Fragua paths agree on every token of every prompt and the adapter changes the continuation.
# Usage: bench/lora_llama_cpp.sh   (env FRAGUA, FRAGUA_BENCH_CACHE; about 1 minute)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$("$root/bench/llama_cpp_setup.sh")"
fragua="${FRAGUA:-$root/build/release/fragua}"
[ -x "$fragua" ] || fragua="$root/build/asan/fragua"
[ -x "$bin/llama-simple-ids" ] || { echo "no $bin/llama-simple-ids (run bench/llama_cpp_setup.sh)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$fragua" dev random-model "$tmp/base.gguf" --vocab 512 --embd 64 --layers 2 --heads 4 --kv-heads 2 --ff 192 \
  --ctx 256 --plain-init --std 0.05 --seed 7 >/dev/null
for i in $(seq 1 24); do
  echo "{\"messages\":[{\"role\":\"user\",\"content\":\"pregunta $i\"},{\"role\":\"assistant\",\"content\":\"la capital de Aragón es Zaragoza $i\"}]}"
done > "$tmp/sft.jsonl"
"$fragua" finetune "$tmp/base.gguf" --data "$tmp/sft.jsonl" -o "$tmp/run" --lora --lora-rank 8 --lora-alpha 16 \
  --lora-dropout 0.05 --lora-targets all --steps 20 --lr 1e-2 --seq-len 128 --batch 4 --chat-template chatml \
  --seed 3 --merge >"$tmp/finetune.log" 2>&1 || { cat "$tmp/finetune.log" >&2; exit 1; }
n=16
ids_of() { tr -s ' \n' ',,' | sed 's/^,//; s/,$//'; }
agree=0 total=0 changed=0 failed=0
for prompt in 1,45,120,37 2,300,17 1,9,9,9,9,250 1,500,4,77,123,64,8; do
  with="$("$fragua" generate "$tmp/base.gguf" --lora "$tmp/run/adapter.gguf" --prompt-ids $prompt -n $n --temp 0 -t 1 2>/dev/null | ids_of)"
  merged="$("$fragua" generate "$tmp/run/merged.gguf" --prompt-ids $prompt -n $n --temp 0 -t 1 2>/dev/null | ids_of)"
  plain="$("$fragua" generate "$tmp/base.gguf" --prompt-ids $prompt -n $n --temp 0 -t 1 2>/dev/null | ids_of)"
  peer="$("$bin/llama-simple-ids" "$tmp/base.gguf" $n $prompt "$tmp/run/adapter.gguf" 2>/dev/null)"
  # fragua generate stops at an end-of-generation token; llama-simple-ids runs on: compare
  # Fragua's length.
  IFS=, read -ra a <<<"$with"
  IFS=, read -ra m <<<"$merged"
  IFS=, read -ra p <<<"$peer"
  for k in "${!a[@]}"; do
    total=$((total + 1))
    [ "${a[$k]}" = "${p[$k]:-}" ] && [ "${a[$k]}" = "${m[$k]:-}" ] && agree=$((agree + 1))
  done
  [ "${#a[@]}" -gt 0 ] || failed=1
  [ "$with" != "$plain" ] && changed=$((changed + 1))
  echo "prompt $prompt"
  echo "  fragua --lora:       $with"
  echo "  fragua merged.gguf:  $merged"
  echo "  llama.cpp adapter:   $peer"
  echo "  fragua, no adapter:  $plain"
done
echo "$agree/$total tokens agree (fragua --lora, fragua merged, llama.cpp with the adapter); the adapter changes $changed of 4 continuations"
[ "$failed" = 0 ] && [ "$agree" = "$total" ] && [ "$changed" -gt 0 ]
