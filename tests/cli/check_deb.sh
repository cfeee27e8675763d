#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `cpack -G DEB` gives a runtime package whose Depends are shared libraries only (no -dev, no
# compiler, no Python), and its fragua runs from a temporary root (dpkg -x), finding its data
# there. Packages what the build already made. Skips (exit 0 with a message) without dpkg-deb.
# Usage: check_deb.sh <build dir>
set -euo pipefail
build="$1"
for tool in dpkg-deb dpkg-shlibdeps cpack; do
  command -v "$tool" >/dev/null || { echo "check_deb: $tool is absent, skipped"; exit 0; }
done
work=$(mktemp -d /tmp/fragua-deb-XXXXXX)
trap 'rm -rf "$work"' EXIT
# Only the runtime package (the -dev one would copy every static library), compressed with zstd,
# the fastest compression dpkg reads: packing a sanitizer build's binary is most of the time.
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" \
  -D CPACK_COMPONENTS_ALL=runtime -D CPACK_DEBIAN_COMPRESSION_TYPE=zstd >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/out/fragua_*.deb)
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
[ -n "$depends" ] || { echo "no Depends"; exit 1; }
names=$(tr ',' '\n' <<<"$depends" | awk '{print $1}')
if bad=$(grep -E -- '-dev$|^python|^clang|^gcc(-[0-9]+)?$|^g\+\+|^cmake$' <<<"$names"); then
  echo "build or test tools among the runtime dependencies: $bad"; exit 1
fi
grep -q "libc6" <<<"$depends"
test "$(dpkg-deb -f "$deb" Package)" = fragua
dpkg -x "$deb" "$work/root"
unset FRAGUA_DATA_DIR FRAGUA_LANGID_MODEL FRAGUA_SOURCE_DIR
cd "$work"
"$work/root/usr/bin/fragua" --version
test -f "$work/root/usr/share/doc/fragua/LICENSE"
out=$(echo "Bon dia a tothom, com estàs? Avui fa molt bon temps a la ciutat." | "$work/root/usr/bin/fragua" corpus langid)
echo "$out"
grep -q "ca" <<<"$out"
echo "check_deb: $(basename "$deb") installs and runs from a temporary root"
