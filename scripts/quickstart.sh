#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Quick start, first command: install what is missing, build, run the main job (scripts/demo.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target fragua_cli
exec scripts/demo.sh "$@"
