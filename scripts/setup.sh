#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages that building and running Fragua need (scripts/deps/*.txt); with
# --test also those of the test suite and the benchmarks (scripts/deps/test/*.txt: clang and the
# sanitizers, googletest, PyTorch, scikit-learn, Chromium...), as scripts/test.sh does.
# Idempotent: packages already installed are skipped; nothing is done when all are present.
# The lists hold one package a line, '#' starts a comment; a package is listed once in all.
# Usage: scripts/setup.sh [--test]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lists=("$here"/deps/*.txt)
case "${1:-}" in
  --test) lists+=("$here"/deps/test/*.txt) ;;
  "") ;;
  *) echo "usage: scripts/setup.sh [--test]" >&2; exit 2 ;;
esac

names() { cat "$@" | sed 's/#.*//' | awk 'NF{print $1}'; }
twice=$(names "$here"/deps/*.txt "$here"/deps/test/*.txt | sort | uniq -d)
if [ -n "$twice" ]; then echo "setup: listed more than once in scripts/deps: $twice" >&2; exit 1; fi
mapfile -t wanted < <(names "${lists[@]}" | sort -u)
missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#wanted[@]} packages are installed"
  exit 0
fi
echo "setup: installing ${#missing[@]} missing packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install packages" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
