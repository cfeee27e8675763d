#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fertility (tokens per word) of Fragua's default tokenizers on held-out prose no tokenizer was
# trained on, next to the peers whose files are on this machine (nothing is downloaded):
#   Llama 2 (ggml-vocab-llama-spm), Llama 3 (ggml-vocab-llama-bpe), command-r's 256k vocabulary
#   (ggml-vocab-command-r) from the llama.cpp checkout of bench/llama_cpp_setup.sh, and o200k
#   when $O200K names a tokenizer file Fragua reads (tokenizer.json or GGUF).
# Held-out text: WORKDIR/heldout/<lang>.txt written by scripts/build_tokenizers.sh (whole prose
# documents, 10%, the same pages in every language), plus any EXTRA_TEXT="lang=file ..." (a
# public-domain text of another genre).
# Usage: bench/fertility.sh [WORKDIR] [TOKENIZER...]   (default: WORKDIR/fragua-{32k,64k}.gguf)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fragua="${FRAGUA:-$root/build/release/fragua}"
work="${1:-$root/out/tokenizers}"
shift || true
models="${LLAMA_CPP_MODELS:-${FRAGUA_BENCH_CACHE:-$HOME/.cache/fragua-bench}/llama.cpp/models}"
toks=()
if [ $# -gt 0 ]; then
  for t in "$@"; do toks+=(-k "$t"); done
else
  for s in 32k 64k; do [ -f "$work/fragua-$s.gguf" ] && toks+=(-k "$work/fragua-$s.gguf"); done
fi
for v in llama-spm llama-bpe command-r; do
  if [ -f "$models/ggml-vocab-$v.gguf" ]; then toks+=(-k "$models/ggml-vocab-$v.gguf"); else echo "no $v: skipped" >&2; fi
done
[ -n "${O200K:-}" ] && toks+=(-k "$O200K")
texts=()
for l in es ca eu gl; do [ -s "$work/heldout/$l.txt" ] && texts+=(--text "$l=$work/heldout/$l.txt"); done
for e in ${EXTRA_TEXT:-}; do texts+=(--text "$e"); done
[ ${#texts[@]} -gt 0 ] || { echo "no held-out text in $work/heldout (run scripts/build_tokenizers.sh)" >&2; exit 1; }
wc -w "$work"/heldout/*.txt >&2
"$fragua" tokenizer stats "${toks[@]}" "${texts[@]}" --json "$work/fertility.json"
python3 - "$work/fertility.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
by = {(r["lang"], r["tokenizer"]): r["fertility"] for r in rows}
names = list(dict.fromkeys(r["tokenizer"] for r in rows))
for n in names:
    es, eu = by.get(("es", n)), by.get(("eu", n))
    if es and eu: print(f"{n}: eu/es fertility ratio {eu / es:.2f}")
PY
