#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fragua's default tokenizers, fragua-32k and fragua-64k, from Debian packages only:
#   1. catalogs and LibreOffice help: `corpus fetch debian --preset small` (+ es<->ca/eu/gl pairs);
#   2. prose: the documentation packages of $PROSE_PACKAGES (GIMP, GNOME and FreedomBox help,
#      manual pages, fortunes...); out-of-genre text, never trained on: $GENRE_PACKAGES (the
#      Reina-Valera 1909 Bible, public domain, es only; Wesnoth's "Heir to the Throne" campaign,
#      GPL-2+ fantasy fiction, es/ca/gl and a partial eu translation), written to
#      heldout-bible/<lang>.txt and heldout-fiction/<lang>.txt;
#   2b. fiction for general prose in ca/gl/es: the other Wesnoth campaigns and the game's own
#      data ($FICTION_PACKAGES: story dialogue, narration and unit lore, GPL-2+; the Basque
#      translation is nearly empty), cleaned as the held-out fiction is (WML variables and Pango
#      tags removed, repeated lines once), every line that is also a line of a held-out set dropped,
#      and refused when the list names a held-out package; its own corpus, never held out;
#   3. documents split by kind into two corpora, prose and catalog strings; whole prose documents
#      held out for the fertility bench (a hash of the document path with its language masked,
#      so the same page is held out in every language: 10%); the preset's documents of a held-out
#      package (the small preset fetches sword-text-sparv) dropped and counted in split/report.md;
#   4. `corpus build` on each corpus with its own quality settings (catalog strings and the
#      fiction's lines are lists of strings: the Gopher repetition rules off);
#   5. `tokenizer train` at 32k and 64k on the three corpora with the es/ca/eu/gl mixture, the
#      Iberian coverage characters (the trainer's default) and the Hunspell dictionaries of
#      hunspell-es/ca/eu/gl (downloaded with apt-get download, never installed) as a prior, each
#      word at DICT_WEIGHT (0.01 of one corpus occurrence: the expanded dictionaries hold about
#      10.5M forms against a few million corpus words, so weight 1 would outweigh the corpus;
#      with 0.05 the held-out documentation took more tokens per word, docs/benchmarks/tokenize.md).
#      DICT_WEIGHTS="eu=0.03,es=0.02" gives a language's dictionaries their own weight instead.
# Usage: scripts/build_tokenizers.sh [WORKDIR]   (FRAGUA=path/to/fragua; default build/release)
# Output: WORKDIR/fragua-32k.{gguf,tokenizer.json} (the json converted from the GGUF), fragua-64k.*,
# heldout/<lang>.txt (prose), heldout-bible/es.txt, heldout-fiction/<lang>.txt, timings.txt
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fragua="${FRAGUA:-$root/build/release/fragua}"
work="${1:-$root/out/tokenizers}"
threads="${THREADS:-$(nproc)}"
mix="${MIX:-es=0.3,ca=0.25,eu=0.25,gl=0.2}"
dict_weight="${DICT_WEIGHT:-0.01}"
cache="${CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fragua/debian}"
PROSE_PACKAGES="${PROSE_PACKAGES:-aptitude-doc-es,debian-edu-doc-es,debian-reference-es,\
freedombox-doc-es,gimp-help-ca,gimp-help-es,kicad-doc-ca,kicad-doc-es,lilypond-doc-html-ca,lilypond-doc-html-es,\
manpages-es,fortunes-es,gnome-user-docs,debian-handbook}"
GENRE_PACKAGES="${GENRE_PACKAGES:-sword-text-sparv,wesnoth-1.16-httt}"
FICTION_PACKAGES="${FICTION_PACKAGES:-wesnoth-1.16-data,wesnoth-1.16-did,wesnoth-1.16-dm,wesnoth-1.16-dw,\
wesnoth-1.16-ei,wesnoth-1.16-l,wesnoth-1.16-low,wesnoth-1.16-nr,wesnoth-1.16-sof,wesnoth-1.16-sota,wesnoth-1.16-sotbe,\
wesnoth-1.16-thot,wesnoth-1.16-trow,wesnoth-1.16-tsg,wesnoth-1.16-ttb,wesnoth-1.16-utbs}"
export GENRE_PACKAGES FICTION_PACKAGES
for p in ${FICTION_PACKAGES//,/ }; do
  case ",$GENRE_PACKAGES," in *",$p,"*) echo "FICTION_PACKAGES: $p is a held-out package (GENRE_PACKAGES)" >&2; exit 1 ;; esac
done
mkdir -p "$work"
cd "$work"
: > timings.txt
step() {  # step NAME COMMAND...: runs and records the wall time
  local name=$1 t0
  shift
  t0=$(date +%s)
  echo "== $name"
  "$@"
  echo "$name $(($(date +%s) - t0)) s" | tee -a timings.txt
}

[ -f debian/manifest.json ] || step fetch-catalogs "$fragua" corpus fetch debian --preset small -o debian --cache "$cache" \
  -t "$threads"
[ -f prose/manifest.json ] || step fetch-prose "$fragua" corpus fetch debian --packages "$PROSE_PACKAGES" -o prose \
  --cache "$cache-prose" -t "$threads"
[ -f genre/manifest.json ] || step fetch-genre "$fragua" corpus fetch debian --packages "$GENRE_PACKAGES" -o genre \
  --cache "$cache-genre" -t "$threads"
[ -f fiction/manifest.json ] || step fetch-fiction "$fragua" corpus fetch debian --packages "$FICTION_PACKAGES" \
  -o fiction --cache "$cache-fiction" -t "$threads"
[ -f debian/parallel/pairs.md ] || step pairs "$fragua" corpus pairs debian

# Out-of-genre held-out sets: the Bible (kind "bible") and the campaign's dialogue and
# narration (its catalog strings, WML variables such as $unit.name| and Pango tags such as <i>
# removed, repeated lines once); lines of 5+ words, as for the held-out prose.
genre_sets() {
  python3 - genre <<'PY'
import json, os, re, sys
os.makedirs("heldout-bible", exist_ok=True); os.makedirs("heldout-fiction", exist_ok=True)
files, seen = {}, set()
for lang in ["es", "ca", "ca-valencia", "eu", "gl"]:
    path = os.path.join(sys.argv[1], lang + ".jsonl")
    if not os.path.exists(path): continue
    for line in open(path, encoding="utf-8"):
        j = json.loads(line)
        name = f"heldout-{'bible' if j.get('kind') == 'bible' else 'fiction'}/{'ca' if lang == 'ca-valencia' else lang}.txt"
        if name not in files: files[name] = open(name, "w")
        for para in j["text"].split("\n"):
            para = " ".join(re.sub(r"\$[\w.]+\|?|</?[a-z]+>", "", para).split())
            if len(para.split()) >= 5 and (name, para) not in seen:
                seen.add((name, para))
                files[name].write(para + "\n")
for f in files.values(): f.close()
print("\n".join(f"{n}: {os.path.getsize(n)} bytes" for n in sorted(files)))
PY
}
[ -d heldout-fiction ] || step genre-sets genre_sets

# The fiction corpus: whole documents (one per catalog), cleaned like the held-out fiction; a line
# that is also a held-out line (a phrase shared between campaigns) is dropped and counted, and a
# document of a held-out package stops the build.
split_fiction() {
  python3 - fiction <<'PY'
import glob, json, os, re, sys
os.makedirs("split/fiction", exist_ok=True)
genre = set(os.environ["GENRE_PACKAGES"].split(","))
held = set()
for f in glob.glob("heldout-bible/*.txt") + glob.glob("heldout-fiction/*.txt"):
    held.update(l.rstrip("\n") for l in open(f, encoding="utf-8"))
rows, dropped = [], 0
for lang in ["es", "ca", "ca-valencia", "eu", "gl"]:
    path = os.path.join(sys.argv[1], lang + ".jsonl")
    if not os.path.exists(path): continue
    words = 0
    with open(f"split/fiction/{lang}.jsonl", "w") as out:
        for line in open(path, encoding="utf-8"):
            j = json.loads(line)
            if j.get("package") in genre:
                sys.exit(f"{path}: a document of {j['package']}, an out-of-genre held-out package, in the training input")
            seen, keep = set(), []
            for para in j["text"].split("\n"):
                para = " ".join(re.sub(r"\$[\w.]+\|?|</?[a-z]+>", "", para).split())
                if not para or para in seen: continue
                seen.add(para)
                if para in held:
                    dropped += 1
                    continue
                keep.append(para)
            if keep:
                j["text"] = "\n".join(keep)
                words += sum(len(p.split()) for p in keep)
                out.write(json.dumps(j, ensure_ascii=False) + "\n")
    rows.append((lang, words))
with open("split/fiction/report.md", "w") as r:
    r.write("| lang | fiction words |\n|---|---:|\n" + "".join(f"| {l} | {w:,} |\n" for l, w in rows))
    r.write(f"\nlines dropped as lines of a held-out set: {dropped}\n")
print(open("split/fiction/report.md").read())
PY
}
[ -f split/fiction/report.md ] || step split-fiction split_fiction

split_kinds() {
  python3 - debian prose <<'PY'
import json, os, re, sys, zlib
os.makedirs("split/prose", exist_ok=True); os.makedirs("split/catalogs", exist_ok=True); os.makedirs("heldout", exist_ok=True)
langs = ["es", "ca", "ca-valencia", "eu", "gl"]
genre = set(os.environ["GENRE_PACKAGES"].split(","))  # held out whole: never in the training split
out, held, stats, dropped = {}, {}, {}, {}
def sink(name):
    if name not in out: out[name] = open(name, "w")
    return out[name]
for src in sys.argv[1:]:
    for lang in langs:
        path = os.path.join(src, lang + ".jsonl")
        if not os.path.exists(path): continue
        for line in open(path, encoding="utf-8"):
            j = json.loads(line)
            if j.get("package") in genre:
                # The small preset fetches sword-text-sparv (the quick start's validation text):
                # its documents are dropped here, never trained on; in the prose list it is an error.
                if src != "debian":
                    sys.exit(f"{path}: a document of {j['package']}, an out-of-genre held-out package, in the training input")
                dropped[j["package"]] = dropped.get(j["package"], 0) + 1
                continue
            kind = "catalogs" if j.get("kind") == "catalog" else "prose"
            base = "ca" if lang == "ca-valencia" else lang
            if kind == "prose":
                # The same page in every language: the path with its locale component masked.
                key = re.sub(r"(^|[/_.])(es|ca|ca-valencia|ca@valencia|eu|gl|en|en-us|pt|fr|it)(?=[/_.]|$)", r"\1L", j.get("path", j.get("id", "")))
                if zlib.crc32(key.encode()) % 10 == 0:
                    if base not in held: held[base] = open(f"heldout/{base}.txt", "w")
                    h = held[base]
                    for para in j["text"].split("\n"):
                        if len(para.split()) >= 5: h.write(para + "\n")
                    continue
            s = stats.setdefault(lang, {"prose": 0, "catalogs": 0})
            s[kind] += len(j["text"].encode())
            sink(f"split/{kind}/{lang}.jsonl").write(line)
for f in list(out.values()) + list(held.values()): f.close()
with open("split/report.md", "w") as r:
    r.write("| lang | prose MB | catalog MB | prose share |\n|---|---:|---:|---:|\n")
    for lang, s in sorted(stats.items()):
        tot = s["prose"] + s["catalogs"]
        r.write(f"| {lang} | {s['prose']/1e6:.2f} | {s['catalogs']/1e6:.2f} | {s['prose']/max(tot,1):.2f} |\n")
    for pkg, n in sorted(dropped.items()):
        r.write(f"\nheld-out package in the preset, not trained on: {pkg}, {n} documents dropped\n")
print(open("split/report.md").read())
PY
}
[ -f split/report.md ] || step split split_kinds

corpus_build() {  # corpus_build KIND QUALITY
  local kind=$1 quality=$2 inputs
  inputs=$(ls split/"$kind"/*.jsonl | paste -sd, | sed 's/,/, /g')
  cat > "$kind.yaml" <<YAML
inputs: [$inputs]
output: built/$kind
threads: $threads
stages:
  langid: {keep: [es, ca, eu, gl], min_confidence: 0.5, model: $root/data/langid/model.bin}
  quality: $quality
YAML
  "$fragua" corpus build "$kind.yaml"
}
[ -f built/prose/report.json ] || step build-prose corpus_build prose "{min_words: 10}"
[ -f built/catalogs/report.json ] || step build-catalogs corpus_build catalogs "{min_words: 3, repetition_rules: false}"
[ -f built/fiction/report.json ] || step build-fiction corpus_build fiction "{min_words: 3, repetition_rules: false}"

mkdir -p hunspell
if [ ! -f hunspell/done ]; then
  (cd hunspell && apt-get download -q hunspell-es hunspell-ca hunspell-eu hunspell-gl && for d in *.deb; do
    dpkg-deb -x "$d" x; done && touch done)
fi
dicts=()
for d in es_ES ca ca_ES-valencia eu gl_ES; do
  w=$dict_weight lang=${d%%_*}
  # DICT_WEIGHTS="eu=0.03,es=0.02": a language's own weight instead of DICT_WEIGHT (ca covers ca_ES-valencia).
  for lw in ${DICT_WEIGHTS:+${DICT_WEIGHTS//,/ }}; do [ "${lw%%=*}" = "$lang" ] && w=${lw#*=}; done
  [ -f "hunspell/x/usr/share/hunspell/$d.dic" ] && dicts+=(--dictionary "hunspell/x/usr/share/hunspell/$d.dic:$w")
done

for size in 32k 64k; do
  n=$((${size%k} * 1000))
  [ -f "fragua-$size.gguf" ] || step "train-$size" "$fragua" tokenizer train -i built/prose/shards/*.jsonl \
    built/catalogs/shards/*.jsonl built/fiction/shards/*.jsonl -o "fragua-$size" --vocab-size "$n" --mix "$mix" "${dicts[@]}" \
    --special '<|im_start|>' --special '<|im_end|>' --chat-template chatml -t "$threads"
  # The shipped tokenizer.json is the conversion of the GGUF (the trainer's own names the chat
  # template, the conversion writes it out as Jinja for other tools).
  "$fragua" tokenizer convert -k "fragua-$size.gguf" -o "fragua-$size.tokenizer.json"
done
ls -la fragua-*.gguf fragua-*.tokenizer.json
cat timings.txt
