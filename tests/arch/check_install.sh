#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the build into a temporary prefix and runs the installed `fragua` from outside the
# source tree, with no FRAGUA_* variable set: it must find its bundled data (language-id model,
# element table) under <prefix>/share/fragua, and carry no path of the source tree.
# Usage: check_install.sh <build dir> <source dir>
set -euo pipefail
build="$1"; src="$2"
prefix=$(mktemp -d /tmp/fragua-install-XXXXXX)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
test -x "$prefix/bin/fragua"
test -f "$prefix/share/fragua/langid/model.bin"
test -f "$prefix/share/fragua/materials/elements.csv"
test -f "$prefix/share/fragua/tokenizers/fragua-32k.gguf"
if grep -q -F -a "$src/data" "$prefix/bin/fragua"; then
  echo "the installed binary names the source tree's data folder ($src/data)"; exit 1
fi
unset FRAGUA_DATA_DIR FRAGUA_LANGID_MODEL FRAGUA_SOURCE_DIR
cd "$prefix"
out=$(echo "Bon dia a tothom, com estàs? Avui fa molt bon temps a la ciutat." | "$prefix/bin/fragua" corpus langid)
echo "$out"
grep -q "ca" <<<"$out"
out=$("$prefix/bin/fragua" materials parse GaAs)
echo "$out"
grep -q "Ga" <<<"$out"
# The default tokenizer (fragua-32k) comes from the prefix when no --tokenizer is given.
printf '{"text": "Bon dia a tothom, com estas?", "lang": "ca"}\n' > "$prefix/c.jsonl"
out=$("$prefix/bin/fragua" corpus shard "$prefix/c.jsonl" -o "$prefix/shards" 2>&1)
echo "$out"
grep -q "fragua-32k ($prefix/.*share/fragua/tokenizers/fragua-32k.gguf)" <<<"$out"
# And with the data gone, a clear error that says where it looked.
rm -rf "$prefix/share/fragua/langid"
if err=$(echo "Bon dia" | "$prefix/bin/fragua" corpus langid 2>&1); then echo "langid ran without its model"; exit 1; fi
echo "$err"
grep -q "FRAGUA_DATA_DIR" <<<"$err"
echo "check_install: the installed fragua finds its data in $prefix/share/fragua"
