#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The shipped language-identification model, data/langid/model.bin, from Debian packages only:
#   1. `corpus fetch debian --preset small`: LibreOffice help and catalogs in es, ca,
#      ca-valencia, eu, gl, pt, en, fr, it, oc, ast; fortunes-es (manual pages are skipped by
#      the trainer: they keep English paragraphs);
#   2. the gettext catalogs of $GNOME_PACKAGES (GTK, GLib, GNOME Shell and a few GNOME
#      applications), which carry Aragonese (an) besides our languages, so that Aragonese has a
#      class of its own instead of being read as Spanish or Catalan; every language of step 1 is
#      taken from the same catalogs too, so the GNOME domain does not stand for Aragonese. Each
#      catalog is cut into 16 documents by a hash of the English original, and a document's path
#      is the same in every language ("#<locale>" is not part of the trainer's key), so the
#      trainer holds the same strings out in every language at once. Read with Python's gettext
#      module;
#   3. `corpus langid train` on both: documents held out whole (10% for evaluation, another 10%
#      for the confidence calibration), the model written to data/langid/model.bin, the
#      held-out and calibration sentences beside it in WORKDIR.
# Usage: scripts/train_langid.sh [WORKDIR]   (FRAGUA=path/to/fragua; default build/release)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fragua="$(realpath "${FRAGUA:-$root/build/release/fragua}")"
work="${1:-$root/out/langid}"
out="${OUT:-$root/data/langid/model.bin}"
cache="${CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fragua/debian}"
GNOME_PACKAGES="${GNOME_PACKAGES:-libgtk-3-common libglib2.0-data gnome-shell-common nautilus-data gedit-common \
evince-common iso-codes eog file-roller gnome-control-center-data}"
mkdir -p "$work"
cd "$work"

[ -f debian/manifest.json ] || "$fragua" corpus fetch debian --preset small -o debian --cache "$cache"

if [ ! -f gnome/done ]; then
  rm -rf gnome && mkdir -p gnome/debs gnome/tree
  # shellcheck disable=SC2086  # the package list is split on purpose
  (cd gnome/debs && apt-get download $GNOME_PACKAGES)
  for d in gnome/debs/*.deb; do dpkg-deb -x "$d" gnome/tree; done
  python3 - gnome/tree gnome <<'PY'
import gettext, json, os, sys, zlib
tree, out = sys.argv[1], sys.argv[2]
# Locale directory -> the label the Debian source uses (data/debian.h, debian_lang) plus "an".
labels = {"an": "an", "es": "es", "ca": "ca", "ca@valencia": "ca-valencia", "eu": "eu", "gl": "gl",
          "pt": "pt", "fr": "fr", "it": "it", "oc": "oc", "ast": "ast"}
locale = os.path.join(tree, "usr/share/locale")
sinks = {}
for loc, lang in sorted(labels.items()):
    d = os.path.join(locale, loc, "LC_MESSAGES")
    if not os.path.isdir(d):
        continue
    for name in sorted(os.listdir(d)):
        if not name.endswith(".mo"):
            continue
        with open(os.path.join(d, name), "rb") as f:
            cat = gettext.GNUTranslations(f)._catalog
        parts = {}
        for key, value in sorted(cat.items(), key=lambda kv: str(kv[0])):
            msgid = key[0] if isinstance(key, tuple) else key
            if not msgid or not value or value == msgid:  # header, untranslated
                continue
            parts.setdefault(zlib.crc32(msgid.encode()) % 16, []).append(" ".join(value.split()))
        if lang not in sinks and parts:
            sinks[lang] = open(os.path.join(out, lang + ".jsonl"), "w", encoding="utf-8")
        for k, lines in sorted(parts.items()):
            rec = {"text": "\n".join(lines), "lang": lang, "kind": "catalog", "package": "gnome",
                   "path": f"gnome/{name}/{k}#{loc}"}
            sinks[lang].write(json.dumps(rec, ensure_ascii=False) + "\n")
for f in sinks.values():
    f.close()
PY
  touch gnome/done
fi

"$fragua" corpus langid train debian/*.jsonl gnome/*.jsonl -o "$out" --heldout-out heldout.jsonl \
  --calibration-out calibration.jsonl | tee train-report.md
