#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A LoRA adapter written by `fragua finetune --lora` loads in llama.cpp (`llama-server --lora`,
# built by bench/llama_cpp_setup.sh) and gives the same greedy continuation as `fragua generate
# --lora` on the same base, and as the merged model (`--merge`). The base is a random llama GGUF
# (F32, `fragua dev random-model --plain-init`); the adapter is trained a few steps on synthetic
# chat data so that it changes the model.
# Known issue: llama-server (this build) may answer 500 "output that does not match the expected
# Content-only format" when the random model emits byte pieces that are not valid UTF-8; the ids
# are then not comparable through /completion (a hand check on another seed agreed, see the report).
# Usage: bench/lora_llama_cpp.sh   (env FRAGUA, FRAGUA_BENCH_CACHE)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${FRAGUA_BENCH_CACHE:-$HOME/.cache/fragua-bench}"
bin="$cache/llama.cpp/build/bin"
fragua="${FRAGUA:-$root/build/release/fragua}"
[ -x "$fragua" ] || fragua="$root/build/asan/fragua"
[ -x "$bin/llama-server" ] || { echo "no $bin/llama-server (run bench/llama_cpp_setup.sh)" >&2; exit 1; }
tmp="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
"$fragua" dev random-model "$tmp/base.gguf" --vocab 512 --embd 64 --layers 2 --heads 4 --kv-heads 2 --ff 192 \
  --ctx 256 --plain-init --std 0.05 >/dev/null
for i in $(seq 1 24); do
  echo "{\"messages\":[{\"role\":\"user\",\"content\":\"pregunta $i\"},{\"role\":\"assistant\",\"content\":\"la capital de Aragón es Zaragoza $i\"}]}"
done > "$tmp/sft.jsonl"
"$fragua" finetune "$tmp/base.gguf" --data "$tmp/sft.jsonl" -o "$tmp/run" --lora --lora-rank 8 --lora-alpha 16 \
  --lora-targets all --steps 20 --lr 1e-2 --seq-len 128 --batch 4 --chat-template chatml --merge >/dev/null 2>&1
ids=1,45,120,37
n=8
with="$("$fragua" generate "$tmp/base.gguf" --lora "$tmp/run/adapter.gguf" --prompt-ids $ids -n $n --temp 0 2>/dev/null | tr -s ' ' ',' | sed 's/,$//')"
merged="$("$fragua" generate "$tmp/run/merged.gguf" --prompt-ids $ids -n $n --temp 0 2>/dev/null | tr -s ' ' ',' | sed 's/,$//')"
plain="$("$fragua" generate "$tmp/base.gguf" --prompt-ids $ids -n $n --temp 0 2>/dev/null | tr -s ' ' ',' | sed 's/,$//')"
port=$((20000 + RANDOM % 20000))
"$bin/llama-server" -m "$tmp/base.gguf" --lora "$tmp/run/adapter.gguf" --port $port -c 256 -t 2 >"$tmp/server.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
peer="$(curl -s "http://127.0.0.1:$port/completion" -d "{\"prompt\": [${ids}], \"n_predict\": $n, \"temperature\": 0, \"top_k\": 1, \"return_tokens\": true, \"cache_prompt\": false}" |
  /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(\",\".join(str(t) for t in d[\"tokens\"]) if \"tokens\" in d else d)")"
echo "fragua --lora:          $with"
echo "fragua merged.gguf:     $merged"
echo "llama.cpp --lora:       $peer"
echo "fragua, no adapter:     $plain"
[ "$with" = "$merged" ] && [ "$with" = "$peer" ] && [ "$with" != "$plain" ]
