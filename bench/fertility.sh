#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fertility (tokens per word) of Fragua's default tokenizers on held-out text no tokenizer was
# trained on, next to the peers: Llama 2 (ggml-vocab-llama-spm), Llama 3 (ggml-vocab-llama-bpe)
# and command-r's 256k vocabulary (ggml-vocab-command-r) from the llama.cpp checkout of
# bench/llama_cpp_setup.sh, and GPT-4o's o200k_base through js-tiktoken (npm, installed into
# ~/.cache/fragua-bench/tiktoken on first use; bench/fertility_o200k.mjs counts words and tokens
# as `fragua tokenizer stats` does). Nothing is downloaded by tests; this bench may.
# Held-out sets, written by scripts/build_tokenizers.sh:
#   WORKDIR/heldout/<lang>.txt          prose: whole documentation pages (10%), same pages in every language
#   WORKDIR/heldout-bible/<lang>.txt    the Reina-Valera 1909 Bible (es; public domain)
#   WORKDIR/heldout-fiction/<lang>.txt  Wesnoth's "Heir to the Throne" campaign (fantasy fiction, GPL-2+)
# plus any EXTRA_TEXT="label=file ...". Rows are labelled <lang> (prose), <lang>.bible, <lang>.fiction.
# Usage: bench/fertility.sh [WORKDIR] [TOKENIZER...]   (default: WORKDIR/fragua-{32k,64k}.gguf)
# Output: the markdown table (sets x tokenizers) on stdout, WORKDIR/fertility.json; NO_O200K=1 skips o200k.
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
for l in es ca eu gl; do [ -s "$work/heldout/$l.txt" ] && texts+=("$l=$work/heldout/$l.txt"); done
for set in bible fiction; do
  for l in es ca eu gl; do [ -s "$work/heldout-$set/$l.txt" ] && texts+=("$l.$set=$work/heldout-$set/$l.txt"); done
done
for e in ${EXTRA_TEXT:-}; do texts+=("$e"); done
[ ${#texts[@]} -gt 0 ] || { echo "no held-out text in $work/heldout* (run scripts/build_tokenizers.sh)" >&2; exit 1; }
for t in "${texts[@]}"; do echo "${t%%=*}: $(wc -w < "${t#*=}") words (wc -w)" >&2; done
stats_args=()
for t in "${texts[@]}"; do stats_args+=(--text "$t"); done
"$fragua" tokenizer stats "${toks[@]}" "${stats_args[@]}" --json "$work/fertility.fragua.json" >&2
if [ -z "${NO_O200K:-}" ]; then
  tiktoken="${FRAGUA_BENCH_CACHE:-$HOME/.cache/fragua-bench}/tiktoken"
  if [ ! -d "$tiktoken/node_modules/js-tiktoken" ]; then
    mkdir -p "$tiktoken"
    (cd "$tiktoken" && npm install --no-audit --no-fund js-tiktoken@1.0.21 >/dev/null)
  fi
  TIKTOKEN_DIR="$tiktoken" node "$root/bench/fertility_o200k.mjs" "${texts[@]}" > "$work/fertility.o200k.json"
else
  echo "[]" > "$work/fertility.o200k.json"
fi
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
rows = json.load(open(f"{work}/fertility.fragua.json")) + json.load(open(f"{work}/fertility.o200k.json"))
json.dump(rows, open(f"{work}/fertility.json", "w"), indent=1)
short = {"ggml-vocab-llama-spm.gguf": "Llama 2", "ggml-vocab-llama-bpe.gguf": "Llama 3",
         "ggml-vocab-command-r.gguf": "command-r (256k)", "o200k_base (GPT-4o)": "o200k (GPT-4o)"}
by = {(r["lang"], r["tokenizer"]): r for r in rows}
toks = list(dict.fromkeys(r["tokenizer"] for r in rows))
labels = list(dict.fromkeys(r["lang"] for r in rows))
print("| set | lang | words | " + " | ".join(short.get(t, t.removesuffix(".gguf")) for t in toks) + " |")
print("|---|---|---:|" + "---:|" * len(toks))
for lab in labels:
    lang, _, kind = lab.partition(".")
    words = next(r["words"] for r in rows if r["lang"] == lab)
    cells = [f"{by[(lab, t)]['fertility']:.3f}" if (lab, t) in by else "" for t in toks]
    print(f"| {kind or 'prose'} | {lang} | {words:,} | " + " | ".join(cells) + " |")
print()
for kind in ["", ".bible", ".fiction"]:
    for t in toks:
        es, eu = by.get((f"es{kind}", t)), by.get((f"eu{kind}", t))
        if es and eu:
            print(f"{kind.lstrip('.') or 'prose'}: {short.get(t, t)} eu/es {eu['fertility'] / es['fertility']:.2f}")
o = "o200k_base (GPT-4o)"
for t in toks:
    if t == o: continue
    wins = [lab for lab in labels if (lab, o) in by and (lab, t) in by and by[(lab, t)]["fertility"] < by[(lab, o)]["fertility"]]
    if any((lab, o) in by for lab in labels):
        print(f"{short.get(t, t)}: fewer tokens per word than o200k on {', '.join(wins) or 'none'}")
PY
