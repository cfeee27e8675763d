# SPDX-License-Identifier: Apache-2.0
"""What the bench scripts share: where the fragua binary is.

Imported by the scripts next to it (bench/ is on sys.path when a script there runs).
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fragua_bin(script):
    """$FRAGUA, else build/release/fragua, else build/asan/fragua (whose times are not release figures)."""
    if os.environ.get("FRAGUA"):
        return os.environ["FRAGUA"]
    for preset in ("release", "asan"):
        p = os.path.join(ROOT, "build", preset, "fragua")
        if os.path.exists(p):
            return p
    sys.exit("%s: no fragua binary (build one, or set FRAGUA)" % script)
