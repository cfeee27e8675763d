#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""fragua eval perplexity against llama.cpp's llama-perplexity on the same model, text and context:
the final PPL and its ± of each, and their relative difference (agreement, not speed).

The texts are Fragua's bundled calibration texts (data/calibration/{es,ca,eu,gl}.txt), one run per
language. Both tools tokenize the whole file with BOS, cut it into chunks of --ctx tokens, put
BOS first in each chunk and score the second half of each chunk.

Usage: bench/eval_perplexity.py [--models llama-15M-F16,...] [--ctx 512] [--threads 2] [--text en=FILE ...]
Needs bench/llama_cpp_setup.sh (llama-perplexity) and the bench models in
~/.cache/fragua-bench/models.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import fragua_bench  # noqa: E402  (bench/ is the script's directory, first on sys.path)

ROOT = fragua_bench.ROOT
CACHE = os.environ.get("FRAGUA_BENCH_CACHE", os.path.expanduser("~/.cache/fragua-bench"))
LANGS = ["es", "ca", "eu", "gl"]


def llama_perplexity():
    exe = os.path.join(CACHE, "llama.cpp", "build", "bin", "llama-perplexity")
    if not os.path.exists(exe):
        sys.exit("eval_perplexity.py: run bench/llama_cpp_setup.sh first (no %s)" % exe)
    return exe


def theirs(model, text, ctx, threads):
    r = subprocess.run([llama_perplexity(), "-m", model, "-f", text, "-c", str(ctx), "-t", str(threads)],
                       capture_output=True, text=True)
    m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", r.stdout + r.stderr)
    if r.returncode != 0 or not m:
        sys.exit("llama-perplexity failed on %s:\n%s" % (model, (r.stdout + r.stderr)[-2000:]))
    return float(m.group(1)), float(m.group(2))


def ours(model, lang, text, ctx, threads, tmp):
    out = os.path.join(tmp, "ppl.json")
    subprocess.run([fragua_bench.fragua_bin("eval_perplexity.py"), "-q", "eval", "perplexity", model, "--text",
                    "%s=%s" % (lang, text), "--ctx", str(ctx), "-t", str(threads), "--json", out],
                   check=True, capture_output=True, text=True)
    f = json.load(open(out))["files"][0]
    return f["ppl"], f["ppl_error"], f["bpb"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="llama-15M-F16,llama-15M-Q8_0,llama-110M-F16,llama-110M-Q8_0")
    ap.add_argument("--langs", default=",".join(LANGS))
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--text", action="append", default=[],
                    help="LANG=FILE: score this text instead of the calibration texts (repeatable)")
    a = ap.parse_args()
    texts = [t.split("=", 1) for t in a.text] or [
        (lang, os.path.join(ROOT, "data", "calibration", lang + ".txt")) for lang in a.langs.split(",")]
    print("| model | lang | llama-perplexity PPL | fragua PPL | relative difference | fragua bits per byte |")
    print("|---|---|---:|---:|---:|---:|")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.models.split(","):
            model = os.path.join(CACHE, "models", name + ".gguf")
            for lang, text in texts:
                p_t, e_t = theirs(model, text, a.ctx, a.threads)
                p_o, e_o, bpb = ours(model, lang, text, a.ctx, a.threads, tmp)
                rel = abs(p_o - p_t) / p_t
                worst = max(worst, rel)
                print("| %s | %s | %.4f ± %.5f | %.4f ± %.5f | %.2e | %.4f |" % (name, lang, p_t, e_t, p_o, e_o, rel, bpb),
                      flush=True)
    print("\nworst relative difference: %.2e (4 significant digits: < 5e-4)" % worst)


if __name__ == "__main__":
    main()
