#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fragua quantize against llama.cpp's llama-quantize on the same F16 input.

For each type: both tools quantize the model; the script compares the tensor data block by block
(metadata and tensor order differ between the files, so whole files are not compared), checks
that every tensor got the same type (the mix rules), and prints the file-size ratio and the time
ratio. Standard library only (no numpy): the GGUF header is read with tests/reference/tensor/
llama_quantize_ref.py's reader.

With --quality, also the proof that matters for the types that are not byte-identical: perplexity
and KL divergence against the F16 model on bench/text/{es,ca,eu,gl}.txt (held-out prose, see its
README), of Fragua's file and of llama-quantize's file, both measured by the same independent tool,
llama.cpp's llama-perplexity (--kl-divergence-base on the F16 model once per language, then
--kl-divergence per quantized file). On a model with random weights the absolute perplexity is
meaningless, but the two quantizations of the same weights are compared against the same F16
logits, which is a valid check of the quantizer.
Usage: bench/quantize.py [--model F16.gguf] [--types Q8_0,Q4_0,Q4_K_M] [--threads N] [--quality]
  env FRAGUA (default build/release/fragua, else build/asan/fragua: its times are not release
  figures), FRAGUA_BENCH_CACHE (bench/llama_cpp_setup.sh's cache; llama-perplexity is built there
  with `cmake --build $CACHE/llama.cpp/build --target llama-perplexity`).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import fragua_bench  # noqa: E402  (bench/ is the script's directory, first on sys.path)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference", "tensor"))
from llama_quantize_ref import read_tensor_table  # noqa: E402

CACHE = os.environ.get("FRAGUA_BENCH_CACHE", os.path.expanduser("~/.cache/fragua-bench"))
# ggml type id -> (elements per block, bytes per block)
BLOCKS = {0: (1, 4), 1: (1, 2), 30: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
          10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210)}


def fragua_bin():
    return fragua_bench.fragua_bin("quantize.py")


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


LANGS = ("es", "ca", "eu", "gl")
TEXT = os.path.join(ROOT, "bench", "text")


def perplexity_bin():
    p = os.path.join(CACHE, "llama.cpp", "build", "bin", "llama-perplexity")
    if not os.path.exists(p):
        sys.exit("quantize.py: no %s (build it: cmake --build %s --target llama-perplexity)" % (
            p, os.path.join(CACHE, "llama.cpp", "build")))
    return p


def kld_bases(model, tmp, threads, ctx):
    """The F16 model's logits on each language's text, as llama-perplexity's KL base files."""
    bases = {}
    for lang in LANGS:
        bases[lang] = os.path.join(tmp, "base-%s.kld" % lang)
        subprocess.run([perplexity_bin(), "-m", model, "-f", os.path.join(TEXT, lang + ".txt"), "-c", str(ctx),
                        "-b", str(ctx), "-t", str(threads), "--kl-divergence-base", bases[lang]],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return bases


def quality(qmodel, bases, threads, ctx):
    """lang -> (PPL(Q), mean KLD, same top token %) of a quantized file against the F16 logits."""
    out = {}
    for lang, base in bases.items():
        r = subprocess.run([perplexity_bin(), "-m", qmodel, "-c", str(ctx), "-b", str(ctx), "-t", str(threads),
                            "--kl-divergence-base", base, "--kl-divergence"],
                           check=True, capture_output=True, text=True)
        log = r.stdout + r.stderr
        ppl = re.search(r"Mean PPL\(Q\)\s*:\s*([0-9.eE+-]+)", log)
        kld = re.search(r"Mean\s+KLD:\s*([0-9.eE+-]+)", log)
        top = re.search(r"Same top p:\s*([0-9.eE+-]+)", log)
        if not (ppl and kld and top):
            sys.exit("quantize.py: could not read llama-perplexity's output for %s:\n%s" % (qmodel, log[-2000:]))
        out[lang] = (float(ppl.group(1)), float(kld.group(1)), float(top.group(1)))
    return out


def print_quality(rows):
    print("\n| type | lang | PPL fragua | PPL llama | PPL ratio | KLD fragua | KLD llama | KLD ratio | same top fragua | "
          "same top llama |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for t, qf, ql in rows:
        for lang in LANGS:
            (pf, kf, sf), (pl, kl, sl) = qf[lang], ql[lang]
            print("| %s | %s | %.6g | %.6g | %.5f | %.6f | %.6f | %.4f | %.2f %% | %.2f %% |" % (
                t, lang, pf, pl, pf / pl, kf, kl, kf / kl if kl > 0 else float("nan"), sf, sl))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(CACHE, "models", "llama-15M-F16.gguf"))
    ap.add_argument("--types", default="Q8_0,Q4_0,Q2_K,Q3_K_M,Q4_K_M,Q5_K_M,Q6_K")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--quality", action="store_true", help="perplexity and KL divergence against the F16 model")
    ap.add_argument("--ctx", type=int, default=128, help="llama-perplexity's context (--quality)")
    a = ap.parse_args()
    llama = os.path.join(CACHE, "llama.cpp", "build", "bin", "llama-quantize")
    fragua = fragua_bin()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print("model %s, %d threads, %s\nfragua %s\n" % (a.model, a.threads, cpu, fragua))
    print("| type | tensor types differing | blocks differing | size ratio | time fragua | time llama | time ratio |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        bases = kld_bases(a.model, tmp, a.threads, a.ctx) if a.quality else None
        for t in a.types.split(","):
            ours, theirs = os.path.join(tmp, "f.gguf"), os.path.join(tmp, "l.gguf")
            tl = timed([llama, a.model, theirs, t, str(a.threads)])
            tf = timed([fragua, "quantize", "-q", a.model, ours, t, "--threads", str(a.threads)])
            td, nb, nd = compare(ours, theirs)
            print("| %s | %d | %d of %d (%.4f %%) | %.4f | %.2f s | %.2f s | %.2f |" % (
                t, td, nd, nb, 100.0 * nd / max(nb, 1), os.path.getsize(ours) / os.path.getsize(theirs), tf, tl,
                tf / tl), flush=True)
            if bases:
                rows.append((t, quality(ours, bases, a.threads, a.ctx), quality(theirs, bases, a.threads, a.ctx)))
    if rows:
        print("\nllama-perplexity -c %d on bench/text/{%s}.txt; ratios are fragua / llama" % (a.ctx, ",".join(LANGS)))
        print_quality(rows)


if __name__ == "__main__":
    main()
