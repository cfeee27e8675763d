#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Memory bound of `fragua tokenizer train` on a 1 GB corpus: writes 4 x 250 MB of synthetic
text (Zipf-sampled random letter words, over 2M distinct words per language: harder for a
word-count trainer than natural text), trains a 32k tokenizer with 2 threads under
/usr/bin/time -v and prints wall time and peak RSS.
Usage: bench/tokenize_memory.py [WORKDIR]   (default ~/.cache/fragua-bench/tok1g; needs a release build)"""
import os
import re
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
work = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/fragua-bench/tok1g")
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(2)
letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
langs = ["es", "ca", "eu", "gl"]
for lang in langs:
    path = os.path.join(work, f"{lang}.txt")
    if os.path.exists(path):
        continue
    V, L = 8_000_000, 10
    raw = letters[rng.integers(0, 26, (V, L))]
    lens = rng.integers(3, L + 1, V)
    words = np.array([raw[i, :lens[i]].tobytes().decode() for i in range(V)], dtype=object)
    with open(path + ".tmp", "w") as out:
        written = 0
        while written < 250_000_000:
            w = words[np.minimum(rng.zipf(1.05, 4_000_000) - 1, V - 1)]
            t = "\n".join(" ".join(w[i:i + 40]) for i in range(0, len(w), 40)) + "\n"
            out.write(t)
            written += len(t)
    os.rename(path + ".tmp", path)
cmd = ["/usr/bin/time", "-v", os.path.join(ROOT, "build", "release", "fragua"), "-q", "tokenizer", "train"]
for lang in langs:
    cmd += ["-i", f"{lang}={os.path.join(work, lang + '.txt')}"]
cmd += ["--mix", "es=0.3,ca=0.25,eu=0.25,gl=0.2", "--vocab-size", "32000", "-o", os.path.join(work, "tok"), "-t", "2"]
err = subprocess.run(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, check=True).stderr.decode()
wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", err).group(1)
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
size = sum(os.path.getsize(os.path.join(work, f"{l}.txt")) for l in langs)
print(f"corpus {size / 1e9:.2f} GB, wall {wall}, peak RSS {rss / 1024:.0f} MB")
