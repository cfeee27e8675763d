#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fragua imatrix against llama.cpp's llama-imatrix on the same model, text, chunk size and chunks.

Both write llama.cpp's legacy imatrix.dat; the script compares the entry names, each entry's ncall
and values (largest difference relative to the entry's largest value), the chunk count, the final
perplexity both print, and the wall times. The text is Fragua's bundled calibration text
(data/calibration/{es,ca,eu,gl}.txt joined by blank lines, as `fragua imatrix` reads it without -f).
llama-imatrix is built in bench/llama_cpp_setup.sh's tree on first use. Standard library only.
Usage: bench/imatrix.py [--model F16.gguf] [--ctx 512] [--chunks 10] [--threads N]
  env FRAGUA (default build/release/fragua, else build/asan/fragua: its times are not release
  figures), FRAGUA_BENCH_CACHE (bench/llama_cpp_setup.sh's cache).
"""
import argparse
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

import fragua_bench  # noqa: E402  (bench/ is the script's directory, first on sys.path)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("FRAGUA_BENCH_CACHE", os.path.expanduser("~/.cache/fragua-bench"))
LANGS = ["es", "ca", "eu", "gl"]


def fragua_bin():
    return fragua_bench.fragua_bin("imatrix.py")


def llama_imatrix():
    build = os.path.join(CACHE, "llama.cpp", "build")
    exe = os.path.join(build, "bin", "llama-imatrix")
    if not os.path.exists(exe):
        if not os.path.isdir(build):
            sys.exit("imatrix.py: run bench/llama_cpp_setup.sh first")
        subprocess.run(["cmake", "--build", build, "--target", "llama-imatrix"], check=True)
    return exe


def read_dat(path):
    """{name: (ncall, values)}, chunk count, from a legacy imatrix.dat."""
    b = open(path, "rb").read()
    pos = 0

    def i32():
        nonlocal pos
        pos += 4
        return struct.unpack_from("<i", b, pos - 4)[0]

    entries = {}
    for _ in range(i32()):
        n = i32()
        name = b[pos:pos + n].decode()
        pos += n
        ncall, nval = i32(), i32()
        entries[name] = (ncall, struct.unpack_from("<%df" % nval, b, pos))
        pos += 4 * nval
    return entries, (i32() if pos + 4 <= len(b) else None)


def timed(cmd):
    t = time.monotonic()
    r = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.monotonic() - t, r.stdout + r.stderr


def final_ppl(log):
    m = re.search(r"Final estimate: PPL = ([0-9.e+]+)", log)
    return float(m.group(1)) if m else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(CACHE, "models", "llama-110M-F16.gguf"))
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--chunks", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    fragua = fragua_bin()
    with tempfile.TemporaryDirectory() as tmp:
        text = os.path.join(tmp, "calibration.txt")
        with open(text, "w") as f:
            f.write("\n\n".join(open(os.path.join(ROOT, "data", "calibration", l + ".txt")).read() for l in LANGS))
        ours, theirs = os.path.join(tmp, "fragua.dat"), os.path.join(tmp, "llama.dat")
        t_ours, log_ours = timed([fragua, "imatrix", a.model, "-f", text, "-o", ours, "--ctx", str(a.ctx),
                                  "--chunks", str(a.chunks), "-t", str(a.threads), "-q"])
        t_theirs, log_theirs = timed([llama_imatrix(), "-m", a.model, "-f", text, "-o", theirs, "--output-format",
                                      "dat", "-c", str(a.ctx), "--chunks", str(a.chunks), "-t", str(a.threads)])
        e_ours, c_ours = read_dat(ours)
        e_theirs, c_theirs = read_dat(theirs)
    worst, worst_name, ncall_diff = 0.0, "", 0
    for name in set(e_ours) & set(e_theirs):
        (na, va), (nb, vb) = e_ours[name], e_theirs[name]
        ncall_diff += na != nb
        scale = max(max(vb), 1e-30)
        d = max(abs(x - y) for x, y in zip(va, vb)) / scale if len(va) == len(vb) else float("inf")
        if d > worst:
            worst, worst_name = d, name
    print("model %s, ctx %d, %d chunks, %d threads\nfragua %s\n" % (a.model, a.ctx, a.chunks, a.threads, fragua))
    print("| entries (fragua/llama, same names) | ncall differing | chunks | largest value difference | "
          "PPL fragua | PPL llama | time fragua | time llama | time ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("| %d/%d, %s | %d | %s/%s | %.2e (%s) | %.4f | %.4f | %.2f s | %.2f s | %.2f |" % (
        len(e_ours), len(e_theirs), "yes" if set(e_ours) == set(e_theirs) else "NO", ncall_diff, c_ours, c_theirs,
        worst, worst_name, final_ppl(log_ours), final_ppl(log_theirs), t_ours, t_theirs, t_ours / t_theirs))


if __name__ == "__main__":
    main()
