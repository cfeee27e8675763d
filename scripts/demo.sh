#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The end-to-end demo (the README's main job): from text in Debian packages to a small model that
# writes Spanish, Catalan, Basque and Galician.
#   1. fetch: gettext catalogs, help pages and books in es/ca/eu/gl from `apt-get download`
#   2. build: clean, identify the language, filter, de-duplicate, redact personal data
#   3. tokenizer: BPE with byte fallback, language mixture so no language is drowned
#   4. shard + train: a Llama-architecture model of a few million parameters, a few minutes
#   5. export to GGUF and generate a sample in each language; bits per byte per language
# Every stage is resumable: run it again after an interruption and finished stages are reused.
# Usage: scripts/demo.sh [WORKDIR]   (env DEMO_STEPS, default 150; FRAGUA_THREADS)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fragua="$root/build/release/fragua"
work="${1:-$root/out/demo}"
steps="${DEMO_STEPS:-150}"
mkdir -p "$work"
cd "$work"

echo "== 1/5 corpus: Debian packages (small preset) -> $work/raw"
[ -f raw/manifest.json ] || "$fragua" corpus fetch debian --preset small --out raw

echo "== 2/5 corpus build: clean, language id, quality, dedup, PII"
cat > corpus.yaml <<YAML
inputs: [raw/es.jsonl, raw/ca.jsonl, raw/ca-valencia.jsonl, raw/eu.jsonl, raw/gl.jsonl]
output: corpus
stages:
  langid: {keep: [es, ca, eu, gl], min_confidence: 0.5, model: $root/data/langid/model.bin}
YAML
[ -f corpus/report.json ] || "$fragua" corpus build corpus.yaml

echo "== 3/5 tokenizer: BPE 8k with byte fallback, mixture es/ca/eu/gl"
[ -f tok.gguf ] || "$fragua" tokenizer train -i corpus/shards/*.jsonl -o tok --vocab-size 8000 \
  --mix es=0.3,ca=0.25,eu=0.25,gl=0.2 --special '<|im_start|>' --special '<|im_end|>' --chat-template chatml

echo "== 4/5 shards and training ($steps steps)"
[ -d shards ] || "$fragua" corpus shard corpus/shards --tokenizer tok.gguf --out shards
if [ -f run/latest ]; then resume=--resume; else resume=; fi
"$fragua" train --data shards --tokenizer tok.gguf --out run $resume --steps "$steps" --n-layer 4 --n-embd 256 \
  --n-head 4 --seq-len 128 --batch 16 --lr 2e-3 --warmup 50 --mix es=0.3,ca=0.25,eu=0.25,gl=0.2 --eval-every 50 --val-tokens 4096
"$fragua" plot run

echo "== 5/5 export and generate"
"$fragua" export run -o model.gguf --tokenizer tok.gguf --name fragua-demo
for prompt in "es:La ciudad de" "ca:La ciutat de" "eu:Hiriaren" "gl:A cidade de"; do
  lang=${prompt%%:*}; text=${prompt#*:}
  printf '[%s] ' "$lang"
  "$fragua" -q generate model.gguf -p "$text" -n 40 --temp 0.8 --top-p 0.9 --seed 1
done
echo "model: $work/model.gguf   metrics: $work/run/metrics.jsonl   curves: $work/run/curves.svg"
