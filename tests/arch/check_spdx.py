#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Every source file of the project names its licence in an SPDX header (LICENSE: Apache-2.0).

  check_spdx.py SOURCE_DIR          lists the files without one and exits 1 if there are any
  check_spdx.py SOURCE_DIR --fix    adds the header where it is missing

The header goes on the first line, or on the second after a '#!' line; data, fixtures, fuzz
corpora and generated files are not source and are not checked.
"""
import os
import sys

TAG = "SPDX-License-Identifier: Apache-2.0"
# Comment syntax per file type.
LINE_COMMENT = {
    ".cpp": "// ", ".h": "// ", ".hpp": "// ", ".inl": "// ", ".c": "// ", ".cu": "// ", ".cuh": "// ",
    ".js": "// ", ".mjs": "// ",
    ".py": "# ", ".sh": "# ", ".cmake": "# ", ".yaml": "# ", ".yml": "# ",
}
BLOCK_COMMENT = {".css": ("/* ", " */"), ".html": ("<!-- ", " -->")}
NAMED = {"CMakeLists.txt": "# "}
# Folders of source; everything under them with a known type is checked.
ROOTS = ["src", "include", "tests", "fuzz", "bench", "scripts", "cmake", "examples", "web", ".ci"]
# Not source: inputs and expected outputs of tests, fuzz seeds and dictionaries, third-party-shaped
# fixtures whose bytes are the point.
SKIP_DIRS = {"fuzz/corpus", "fuzz/dict", "tests/reference/model/golden", "tests/fixtures", "node_modules"}


def header_for(name):
    if name in NAMED:
        return NAMED[name] + TAG
    ext = os.path.splitext(name)[1]
    if ext in LINE_COMMENT:
        return LINE_COMMENT[ext] + TAG
    if ext in BLOCK_COMMENT:
        a, b = BLOCK_COMMENT[ext]
        return a + TAG + b
    return None


# Folders of data, where only the scripts that make it are source.
DATA_ROOTS = ["data"]
SCRIPT_EXTS = {".py", ".sh"}


def source_files(root):
    top = [os.path.join(root, "CMakeLists.txt")]
    for f in top:
        if os.path.exists(f):
            yield f
    for r in ROOTS:
        for d, dirs, files in os.walk(os.path.join(root, r)):
            rel = os.path.relpath(d, root)
            dirs[:] = sorted(x for x in dirs if os.path.join(rel, x) not in SKIP_DIRS and x not in SKIP_DIRS)
            for f in sorted(files):
                if header_for(f):
                    yield os.path.join(d, f)
    for r in DATA_ROOTS:
        for d, dirs, files in os.walk(os.path.join(root, r)):
            dirs.sort()
            for f in sorted(files):
                if os.path.splitext(f)[1] in SCRIPT_EXTS:
                    yield os.path.join(d, f)


def has_tag(text):
    return TAG in "\n".join(text.split("\n", 3)[:3])


def add_tag(text, header):
    if text.startswith("#!"):
        first, _, rest = text.partition("\n")
        return first + "\n" + header + "\n" + rest
    if text.startswith("<!DOCTYPE") or text.startswith("<!doctype"):
        first, _, rest = text.partition("\n")
        return first + "\n" + header + "\n" + rest
    return header + "\n" + text


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    root, fix = sys.argv[1], "--fix" in sys.argv[2:]
    missing = []
    for path in source_files(root):
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
        if has_tag(text):
            continue
        if fix:
            with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(add_tag(text, header_for(os.path.basename(path))))
        else:
            missing.append(os.path.relpath(path, root))
    if missing:
        print(f"{len(missing)} source files lack the '{TAG}' header (add it with "
              f"tests/arch/check_spdx.py . --fix):", file=sys.stderr)
        for m in missing:
            print("  " + m, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
