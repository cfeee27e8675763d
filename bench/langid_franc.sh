#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fragua's language identifier (the `fragua corpus langid` CLI, one answer per line) vs franc
# (npm franc-all 7) on the same held-out lines of 5+ words, per domain: accuracy per language
# and the confusion matrices of both tools; then the CLI's speed in MB of input per CPU-second
# (user + system time of the whole process: start-up and model load included) on a large file.
#
# Usage: bench/langid_franc.sh [NAME=PATH ...]
#   PATH is a JSONL file of {text, lang[, domain]}, a folder of such files (corpus records:
#   manual pages skipped, they keep English paragraphs) or a folder of <lang>.txt files (one
#   text per line; a record or line of several lines counts line by line). NAME "split" takes
#   each record's own domain (catalog, help: the held-out split of scripts/train_langid.sh); any
#   other NAME is the domain of all of PATH's lines.
#   Default: split=$CACHE/langid/heldout.jsonl (made by scripts/train_langid.sh on first use)
#   and, when it exists, prose=out/tokenizers/prose (the documentation packages that
#   scripts/build_tokenizers.sh fetches: GIMP, KiCad, LilyPond, FreedomBox, Debian Edu...;
#   the language-id model was trained on none of them), and the out-of-genre held-out sets of
#   the same script when they exist: bible=out/tokenizers/heldout-bible (the Reina-Valera 1909,
#   es) and fiction=out/tokenizers/heldout-fiction (Wesnoth's "Heir to the Throne").
# The labels are the package's language, and documentation keeps untranslated English
# paragraphs: a line labelled with another language is dropped when it has more English stop
# words than stop words of its label (data/stopwords/; the same lines for both tools; the count
# dropped is printed).
# Environment: FRAGUA (default build/release/fragua), MAX_PER_LANG (lines per language and
#   domain, a hash-ordered sample; default 3000), SPEED_MB (size of the speed file, default 64),
#   REPEATS (speed runs, the fastest kept; default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
FRAGUA=$(realpath "${FRAGUA:-build/release/fragua}")
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/fragua-bench
MAX_PER_LANG=${MAX_PER_LANG:-3000}
SPEED_MB=${SPEED_MB:-64}
REPEATS=${REPEATS:-3}
mkdir -p "$CACHE/franc" "$CACHE/langid"
if [ ! -d "$CACHE/franc/node_modules/franc-all" ]; then
  (cd "$CACHE/franc" && npm install --no-audit --no-fund franc-all@7 >/dev/null)
fi
sets=("$@")
if [ ${#sets[@]} -eq 0 ]; then
  if [ ! -s "$CACHE/langid/heldout.jsonl" ]; then
    # The same deterministic document split as the shipped model's training run.
    FRAGUA="$FRAGUA" OUT="$CACHE/langid/model.bin" scripts/train_langid.sh "$CACHE/langid" >/dev/null
  fi
  sets=("split=$CACHE/langid/heldout.jsonl")
  [ -d out/tokenizers/prose ] && sets+=("prose=out/tokenizers/prose")
  [ -d out/tokenizers/heldout-bible ] && sets+=("bible=out/tokenizers/heldout-bible")
  [ -d out/tokenizers/heldout-fiction ] && sets+=("fiction=out/tokenizers/heldout-fiction")
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
python3 - "$OUT" "$MAX_PER_LANG" "${sets[@]}" <<'PY'
import json, os, re, sys, zlib
out, cap, sets = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
stop = {}
def stopwords(lang):
    if lang not in stop:
        p = f"data/stopwords/{lang}.txt"
        stop[lang] = {w.strip() for w in open(p, encoding="utf-8") if w.strip() and not w.startswith("#")} \
            if os.path.exists(p) else set()
    return stop[lang]
def english_leftover(text, lang):
    base = lang.split("-")[0]
    if base == "en":
        return False
    words = re.findall(r"\w+", text.lower())
    return sum(w in stopwords("en") for w in words) > sum(w in stopwords(base) for w in words)
items, dropped = {}, {}
for spec in sets:
    name, path = spec.split("=", 1)
    files = [os.path.join(path, f) for f in sorted(os.listdir(path))] if os.path.isdir(path) else [path]
    recs = []
    for f in files:
        if f.endswith(".txt"):
            lang = os.path.basename(f)[:-4]
            recs += [{"text": l, "lang": lang} for l in open(f, encoding="utf-8")]
        elif f.endswith(".jsonl"):
            recs += [r for r in map(json.loads, filter(str.strip, open(f, encoding="utf-8")))
                     if r.get("kind") != "manpage" and r.get("lang")]
    for r in recs:
        dom = (r.get("domain") or "-") if name == "split" else name
        for line in r["text"].split("\n"):
            text = " ".join(line.split())
            if len(text.split()) < 5:
                continue
            if english_leftover(text, r["lang"]):
                dropped[dom] = dropped.get(dom, 0) + 1
                continue
            items.setdefault((dom, r["lang"]), []).append(text)
json.dump(dropped, open(f"{out}/dropped.json", "w"))
with open(f"{out}/lines.txt", "w", encoding="utf-8") as lf, open(f"{out}/gold.jsonl", "w") as gf:
    for (dom, lang), texts in sorted(items.items()):
        texts = sorted(set(texts), key=lambda t: zlib.crc32(t.encode()))[:cap]
        for t in texts:
            lf.write(t + "\n")
            gf.write(json.dumps([dom, lang]) + "\n")
PY
"$FRAGUA" -q corpus langid < "$OUT/lines.txt" > "$OUT/fragua.tsv"
FRANC_DIR="$CACHE/franc" node bench/langid_franc.mjs "$OUT/lines.txt" > "$OUT/franc.json"
# The speed file: the bench lines repeated to SPEED_MB.
python3 - "$OUT/lines.txt" "$OUT/speed.txt" "$SPEED_MB" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "wb") as f:
    for _ in range(max(1, int(sys.argv[3]) * 2**20 // max(1, len(data)) + 1)):
        f.write(data)
PY
for i in $(seq "$REPEATS"); do
  /usr/bin/time -f "%U %S" -o "$OUT/time.$i" "$FRAGUA" -q corpus langid < "$OUT/speed.txt" > /dev/null
done
python3 - "$OUT" "$REPEATS" <<'PY'
import json, os, sys
out, reps = sys.argv[1], int(sys.argv[2])
gold = [tuple(json.loads(l)) for l in open(f"{out}/gold.jsonl")]
fragua = [l.split("\t")[0] for l in open(f"{out}/fragua.tsv")]
fr = json.load(open(f"{out}/franc.json"))
assert len(fragua) == len(gold) == fr["n"], (len(fragua), len(gold), fr["n"])
base = lambda l: l.split("-")[0]
order = ["es", "ca", "ca-valencia", "eu", "gl", "an", "ast", "oc", "pt", "en", "fr", "it"]
def ok(g, p):  # ca-valencia counts as right when read as ca or ca-valencia
    return base(p) == base(g)
dropped = json.load(open(f"{out}/dropped.json"))
print(f"held-out lines of 5+ words: {len(gold)}; franc-all 7 restricted to es ca eu gl pt en fr it oc ast; "
      f"dropped as English left untranslated: {dropped}\n")
for dom in sorted({d for d, _ in gold}):
    idx = [i for i, (d, _) in enumerate(gold) if d == dom]
    langs = [l for l in order if any(gold[i][1] == l for i in idx)]
    langs += sorted({gold[i][1] for i in idx} - set(langs))
    print(f"### {dom}\n\n| lang | n | Fragua | franc |\n|---|---:|---:|---:|")
    for l in langs:
        li = [i for i in idx if gold[i][1] == l]
        a = sum(ok(l, fragua[i]) for i in li) / len(li)
        b = sum(ok(l, fr["preds"][i]) for i in li) / len(li)
        print(f"| {l} | {len(li)} | {a:.4f}{' **' if a >= b else ''} | {b:.4f} |")
    for tool, preds in (("Fragua", fragua), ("franc", fr["preds"])):
        cols = [l for l in order if l != "ca-valencia" and any(base(preds[i]) == l or gold[i][1] == l for i in idx)]
        cols += sorted({base(preds[i]) for i in idx} - set(cols))
        print(f"\n{tool} confusion ({dom}; rows gold, columns predicted base language)\n")
        print("| gold | " + " | ".join(cols) + " |\n|---|" + "---:|" * len(cols))
        for l in langs:
            row = [sum(1 for i in idx if gold[i][1] == l and base(preds[i]) == c) for c in cols]
            print(f"| {l} | " + " | ".join(str(v) for v in row) + " |")
    print()
size = os.path.getsize(f"{out}/speed.txt") / 1e6
cpus = [sum(map(float, open(f"{out}/time.{i}").read().split()[-2:])) for i in range(1, reps + 1)]
cpu = min(cpus)
lines_mb = os.path.getsize(f"{out}/lines.txt") / 1e6
print(f"speed: `fragua corpus langid` {size / cpu:.1f} MB per CPU-second ({size:.0f} MB, best of {reps}: "
      f"{', '.join(f'{size / c:.1f}' for c in cpus)} MB/s, {', '.join(f'{c:.2f}' for c in cpus)} CPU-s; "
      f"whole process); franc {lines_mb / fr['cpu_seconds']:.2f} MB per CPU-second (classification loop only, "
      f"{lines_mb:.1f} MB; franc reads at most 2,048 characters of a line)")
PY
