#!/usr/bin/python3
"""fragua quantize against llama.cpp's llama-quantize on the same F16 input.

For each type: both tools quantize the model; the script compares the tensor data block by block
(metadata and tensor order differ between the files, so whole files are not compared), checks
that every tensor got the same type (the mix rules), and prints the file-size ratio and the time
ratio. Standard library only (no numpy): the GGUF header is read with tests/reference/tensor/
llama_quantize_ref.py's reader.
Usage: bench/quantize.py [--model F16.gguf] [--types Q8_0,Q4_0,Q4_K_M] [--threads N]
  env FRAGUA (default build/release/fragua, else build/asan/fragua: its times are not release
  figures), FRAGUA_BENCH_CACHE (bench/llama_cpp_setup.sh's cache).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference", "tensor"))
from llama_quantize_ref import read_tensor_table  # noqa: E402

CACHE = os.environ.get("FRAGUA_BENCH_CACHE", os.path.expanduser("~/.cache/fragua-bench"))
# ggml type id -> (elements per block, bytes per block)
BLOCKS = {0: (1, 4), 1: (1, 2), 30: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
          10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210)}


def fragua_bin():
    if os.environ.get("FRAGUA"):
        return os.environ["FRAGUA"]
    for preset in ("release", "asan"):
        p = os.path.join(ROOT, "build", preset, "fragua")
        if os.path.exists(p):
            return p
    sys.exit("quantize.py: no fragua binary (set FRAGUA)")


def timed(cmd):
    t = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t


def compare(ours, theirs):
    """(tensors whose type differs, quantized blocks compared, blocks differing); a plain-type
    tensor (f32/f16/bf16) that differs counts as one differing block."""
    da, ta = read_tensor_table(ours)
    db, tb = read_tensor_table(theirs)
    type_diff = blocks = differ = 0
    with open(ours, "rb") as fa, open(theirs, "rb") as fb:
        for name, (dims, ty, off) in ta.items():
            if name not in tb or tb[name][1] != ty:
                type_diff += 1
                continue
            per, size = BLOCKS[ty]
            n = 1
            for d in dims:
                n *= d
            nb = n // per
            fa.seek(da + off)
            fb.seek(db + tb[name][2])
            x, y = fa.read(nb * size), fb.read(nb * size)
            if per == 1:
                differ += x != y
                continue
            blocks += nb
            if x != y:
                differ += sum(x[i:i + size] != y[i:i + size] for i in range(0, nb * size, size))
    return type_diff, blocks, differ


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(CACHE, "models", "llama-15M-F16.gguf"))
    ap.add_argument("--types", default="Q8_0,Q4_0,Q2_K,Q3_K_M,Q4_K_M,Q5_K_M,Q6_K")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    llama = os.path.join(CACHE, "llama.cpp", "build", "bin", "llama-quantize")
    fragua = fragua_bin()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print("model %s, %d threads, %s\nfragua %s\n" % (a.model, a.threads, cpu, fragua))
    print("| type | tensor types differing | blocks differing | size ratio | time fragua | time llama | time ratio |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for t in a.types.split(","):
            ours, theirs = os.path.join(tmp, "f.gguf"), os.path.join(tmp, "l.gguf")
            tl = timed([llama, a.model, theirs, t, str(a.threads)])
            tf = timed([fragua, "quantize", "-q", a.model, ours, t, "--threads", str(a.threads)])
            td, nb, nd = compare(ours, theirs)
            print("| %s | %d | %d of %d (%.4f %%) | %.4f | %.2f s | %.2f s | %.2f |" % (
                t, td, nd, nb, 100.0 * nd / max(nb, 1), os.path.getsize(ours) / os.path.getsize(theirs), tf, tl,
                tf / tl), flush=True)


if __name__ == "__main__":
    main()
