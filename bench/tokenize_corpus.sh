#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds a small multilingual text corpus for the tokenizer benchmarks from Debian packages:
# the LibreOffice help pages in Spanish, Catalan, Basque, Galician and English (the same
# documents translated, so the languages are comparable). Output, never committed:
#   ~/.cache/fragua-bench/tokenize-corpus/{es,ca,eu,gl,en}.{train,test}.txt
# one paragraph per line; a line goes to test when a hash of its position says so (10%).
set -euo pipefail
out="${FRAGUA_BENCH_CACHE:-$HOME/.cache/fragua-bench}/tokenize-corpus"
mkdir -p "$out/debs" "$out/unpack"
cd "$out/debs"
for lang in es ca eu gl en-us; do
  ls libreoffice-help-"$lang"_*.deb >/dev/null 2>&1 || apt-get download -q "libreoffice-help-$lang"
done
for deb in libreoffice-help-*.deb; do
  lang=$(echo "$deb" | sed -E 's/libreoffice-help-([a-z-]+)_.*/\1/; s/en-us/en/')
  [ -s "$out/$lang.train.txt" ] && continue
  rm -rf "$out/unpack/$lang" && mkdir -p "$out/unpack/$lang"
  dpkg-deb -x "$deb" "$out/unpack/$lang"
  python3 - "$out/unpack/$lang" "$out/$lang" <<'PY'
import html.parser, os, re, sys, zlib
root, prefix = sys.argv[1], sys.argv[2]
class P(html.parser.HTMLParser):
    def __init__(s): super().__init__(); s.buf=[]; s.out=[]; s.skip=0
    def handle_starttag(s, t, a):
        if t in ('script','style'): s.skip+=1
        if t in ('p','li','h1','h2','h3','td','div','br'): s.flush()
    def handle_endtag(s, t):
        if t in ('script','style'): s.skip-=1
        if t in ('p','li','h1','h2','h3','td','div'): s.flush()
    def handle_data(s, d):
        if not s.skip: s.buf.append(d)
    def flush(s):
        t=re.sub(r'\s+',' ',''.join(s.buf)).strip(); s.buf=[]
        if len(t)>=40 and len(t.split())>=6: s.out.append(t)
paras=[]; seen=set()
for dp,_,fs in sorted(os.walk(root)):
    for f in sorted(fs):
        if not f.endswith(('.html','.xhp')): continue
        p=P(); p.feed(open(os.path.join(dp,f),encoding='utf-8',errors='replace').read()); p.flush()
        for t in p.out:
            if t not in seen: seen.add(t); paras.append(t)
with open(prefix+'.train.txt','w') as tr, open(prefix+'.test.txt','w') as te:
    for i,t in enumerate(paras):
        (te if zlib.crc32(str(i).encode())%10==0 else tr).write(t+'\n')
print(prefix, len(paras), 'paragraphs')
PY
  rm -rf "$out/unpack/$lang"
done
wc -c "$out"/*.txt
