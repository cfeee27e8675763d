#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The end-to-end demo (the README's main job): from text in Debian packages to a small model that
# writes Spanish, Catalan, Basque and Galician.
#   1. fetch: documentation prose (GNOME, Debian handbook and reference, fortunes), LibreOffice
#      help and catalogs in es/ca/eu/gl from `apt-get download`
#   2. build: prose first (LibreOffice's Basic reference pages and the manual pages, which are
#      mostly code and English, are left out; documentation pages keep their sentences only),
#      clean, identify the language, filter, de-duplicate, redact personal data
#   3. tokenizer: Fragua's default, fragua-32k (data/tokenizers/; `corpus shard` uses it when no
#      tokenizer is given)
#   4. shard + train: a Llama-architecture model tuned for the lowest validation bits per byte in
#      about 10 minutes on 2 cores (README, "The quick start's model")
#   5. export to GGUF and generate a sample in each language; bits per byte per language
# Every stage is resumable: run it again after an interruption and finished stages are reused.
# Usage: scripts/demo.sh [WORKDIR]   (env DEMO_STEPS, default 300; FRAGUA_THREADS; FRAGUA=path/to/fragua)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fragua="${FRAGUA:-$root/build/release/fragua}"
work="${1:-$root/out/demo}"
steps="${DEMO_STEPS:-300}"
tok="$root/data/tokenizers/fragua-32k.gguf"
# Documentation packages with prose in our languages, about 30 MB to download
# (scripts/build_tokenizers.sh lists the larger ones: GIMP, FreedomBox, KiCad). LilyPond's
# manuals (lilypond-doc-html-es/-ca) are not among them: most of their pages are music markup
# (`\relative c' { ... }`), navigation and tables of contents, and a model trained on them wrote
# section headings and snippets; what prose they hold is cut across lines by the HTML extraction.
prose="${DEMO_PROSE:-debian-reference-es,debian-handbook,gnome-user-docs,fortunes-es}"
mkdir -p "$work"
cd "$work"

echo "== 1/5 corpus: Debian packages (documentation prose, then the small preset) -> $work/prose, $work/raw"
[ -f prose/manifest.json ] || "$fragua" corpus fetch debian --packages "$prose" -o prose
[ -f raw/manifest.json ] || "$fragua" corpus fetch debian --preset small -o raw

echo "== 2/5 corpus build: prose first; clean, language id, quality, dedup, PII"
# Prose documents first in each language's file; of the small preset, LibreOffice's Basic
# reference (help/<lang>/text/sbasic/: code listings, `Sub`, `MsgBox`) and the manual pages
# (mostly untranslated option lists) are left out. The documentation pages keep their prose
# only: a page where more than 5% of the lines hold a LilyPond/TeX command (`\relative`) or a
# brace is mostly music markup and is left out, and of the rest only the lines that read as
# sentences (six words or more, ending in punctuation, no markup) are kept, which drops the
# navigation bars, tables of contents, headings and author lists. Fortunes and catalogs are kept
# whole (a fortune's sentences are wrapped over several lines).
[ -f selected/done ] || python3 - <<'PY'
import json, os, re
markup = re.compile(r"\\[A-Za-z]|[{}]")
sentence_end = re.compile(r"[.!?:;)\u00bb\"']$")
def prose_lines(text):
    lines = [l.strip() for l in text.split("\n") if l.strip()]
    if not lines or sum(1 for l in lines if markup.search(l)) > 0.05 * len(lines):
        return ""
    keep = [l for l in lines if len(l.split()) >= 6 and sentence_end.search(l) and not markup.search(l)
            and "@" not in l and not l.startswith("[")]
    return "\n\n".join(keep)
os.makedirs("selected", exist_ok=True)
for lang in ["es", "ca", "ca-valencia", "eu", "gl"]:
    with open(f"selected/{lang}.jsonl", "w", encoding="utf-8") as out:
        for src in ("prose", "raw"):
            path = f"{src}/{lang}.jsonl"
            if not os.path.exists(path):
                continue
            for line in open(path, encoding="utf-8"):
                doc = json.loads(line)
                if doc.get("kind") == "manpage" or "/text/sbasic/" in doc.get("path", ""):
                    continue
                if doc.get("kind") == "help":
                    doc["text"] = prose_lines(doc["text"])
                    if not doc["text"]:
                        continue
                out.write(json.dumps(doc, ensure_ascii=False) + "\n")
open("selected/done", "w").close()
PY
cat > corpus.yaml <<YAML
inputs: [selected/es.jsonl, selected/ca.jsonl, selected/ca-valencia.jsonl, selected/eu.jsonl, selected/gl.jsonl]
output: corpus
stages:
  langid: {keep: [es, ca, eu, gl], min_confidence: 0.5, model: $root/data/langid/model.bin}
YAML
[ -f corpus/report.json ] || "$fragua" corpus build corpus.yaml

echo "== 3/5 tokenizer: Fragua's default, fragua-32k ($tok)"

echo "== 4/5 shards and training ($steps steps)"
[ -d shards ] || "$fragua" corpus shard corpus/shards --tokenizer "$tok" -o shards
if [ -f run/latest ]; then resume=--resume; else resume=; fi
"$fragua" train --data shards --tokenizer "$tok" -o run $resume --steps "$steps" --n-layer 4 --n-embd 256 --n-head 4 --tied \
  --seq-len 128 --batch 16 --lr 2e-3 --warmup 30 \
  --mix es=0.3,ca=0.25,eu=0.25,gl=0.2 --eval-every 100 --val-tokens 8192
"$fragua" plot run

echo "== 5/5 export and generate"
"$fragua" export run -o model.gguf --tokenizer "$tok" --name fragua-demo
mkdir -p summary
for prompt in "es:La ciudad de" "ca:La ciutat de" "eu:Hiriaren" "gl:A cidade de"; do
  lang=${prompt%%:*}; text=${prompt#*:}
  { printf '%s' "$text"; "$fragua" -q generate model.gguf -p "$text" -n 40 --temp 0.8 --top-p 0.9 --seed 1; } \
    > "summary/sample.$lang.txt"
done

# The summary: corpus MB per language (corpus/report.json), the tokenizer's tokens per word on up
# to 2 MB of each language's built corpus, the last validation bits per byte (run/metrics.jsonl)
# and one sample per language. The full tables stay in corpus/report.md and run/.
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
langs = ["es", "ca", "eu", "gl"]
for lang in langs:
    with open(os.path.join(work, "summary", lang + ".txt"), "w", encoding="utf-8") as out:
        n = 0
        for name in sorted(os.listdir(os.path.join(work, "corpus", "shards"))):
            if not name.endswith(".jsonl") or n >= 2e6:
                continue
            for line in open(os.path.join(work, "corpus", "shards", name), encoding="utf-8"):
                doc = json.loads(line)
                if doc.get("lang", "").split("-")[0] == lang and n < 2e6:
                    text = " ".join(doc["text"].split())
                    out.write(text + "\n")
                    n += len(text.encode()) + 1
PY
"$fragua" -q tokenizer stats -k "$tok" --text es=summary/es.txt --text ca=summary/ca.txt --text eu=summary/eu.txt \
  --text gl=summary/gl.txt --json summary/tokenizer.json --svg summary/fertility.svg > /dev/null
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
langs = ["es", "ca", "eu", "gl"]
report = json.load(open(os.path.join(work, "corpus", "report.json")))["languages"]
mb = {l: sum(v["out_bytes"] for k, v in report.items() if k.split("-")[0] == l) / 1e6 for l in langs}
fert = {s["lang"]: s["fertility"] for s in json.load(open(os.path.join(work, "summary", "tokenizer.json")))}
bpb = {}
for line in open(os.path.join(work, "run", "metrics.jsonl")):
    r = json.loads(line)
    if r.get("type") == "val":
        bpb = r.get("val_bpb", bpb)
print("\n== summary")
print(f"{'lang':<5} {'corpus MB':>9} {'tokens/word':>11} {'bits/byte':>9}")
for l in langs:
    print(f"{l:<5} {mb.get(l, 0):>9.2f} {fert.get(l, 0):>11.2f} {bpb.get(l, float('nan')):>9.3f}")
for l in langs:
    # A small model can stop inside a character: show what it wrote, with U+FFFD for a cut byte.
    sample = open(os.path.join(work, "summary", f"sample.{l}.txt"), encoding="utf-8", errors="replace").read().strip()
    print(f"[{l}] {' '.join(sample.split())}")
PY
echo "model: $work/model.gguf   corpus: $work/corpus/report.md   curves: $work/run/curves.svg   tokenizer: $work/summary/fertility.svg"
