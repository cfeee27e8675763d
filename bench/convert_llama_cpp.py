#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A Hugging Face checkpoint converted by `fragua convert` runs in llama.cpp as in Fragua.

Takes the fixture directories that tests/reference/model/make_hf.py wrote (committed under
tests/reference/model/hf; llama_gqa: Llama with GQA,
llama3 RoPE scaling and a SentencePiece tokenizer, converted once from tokenizer.model and once
from tokenizer.json; granite_tied: Granite with tied embeddings and a byte-level BPE
tokenizer.json), converts each at --outtypes, and for each GGUF:
  - tokenizes the same text with llama.cpp's llama-tokenize and with `fragua tokenizer encode`
    (the converted tokenizer keys read by both tools) and compares the ids;
  - decodes greedily from those ids with llama.cpp (bench/peers/llama_greedy_ids.cpp, the
    llama-simple-ids of bench/llama_cpp_setup.sh) and with `fragua generate --temp 0`, and
    compares the token ids.
Usage: bench/convert_llama_cpp.py [-n 32] [--outtypes f32,f16,q8_0]
  env FRAGUA (default build/release/fragua, else build/asan/fragua), FRAGUA_BENCH_CACHE
  (bench/llama_cpp_setup.sh's cache; llama-tokenize is built there with
  `cmake --build $CACHE/llama.cpp/build --target llama-tokenize`). Standard library only.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import fragua_bench  # noqa: E402  (bench/ is the script's directory, first on sys.path)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("FRAGUA_BENCH_CACHE", os.path.expanduser("~/.cache/fragua-bench"))
BIN = os.path.join(CACHE, "llama.cpp", "build", "bin")
HF = os.path.join(ROOT, "tests", "reference", "model", "hf")
# (name, fixture directory, --tokenizer)
MODELS = [("llama_gqa (tokenizer.model)", "llama_gqa", "model"), ("llama_gqa (tokenizer.json)", "llama_gqa", "json"),
          ("granite_tied (byte-level BPE)", "granite_tied", "auto")]


def fragua_bin():
    return fragua_bench.fragua_bin("convert_llama_cpp.py")


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, encoding="utf-8", errors="replace")
    if r.returncode != 0:
        sys.exit("convert_llama_cpp.py: %s failed (%d):\n%s" % (" ".join(cmd), r.returncode, r.stderr[-3000:]))
    return r.stdout


def ids_of(text):
    """Token ids from the output of llama-tokenize --ids ("[1, 2, 3]") or fragua ("1 2 3", "1,2,3")."""
    return [int(x) for x in text.replace("[", " ").replace("]", " ").replace(",", " ").split()]


def first_difference(a, b):
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=32, help="tokens to generate")
    ap.add_argument("--outtypes", default="f32,f16,q8_0")
    a = ap.parse_args()
    for tool in ("llama-tokenize", "llama-simple-ids"):
        if not os.path.exists(os.path.join(BIN, tool)):
            sys.exit("convert_llama_cpp.py: no %s in %s (bench/llama_cpp_setup.sh; cmake --build %s --target %s)" % (
                tool, BIN, os.path.dirname(BIN), tool))
    fragua = fragua_bin()
    with open(os.path.join(HF, "reference.json")) as f:
        TEXT = json.load(f)["text"]  # the fixtures' tokenizer test text (es, ca, eu, gl)
    print("fragua %s; llama.cpp %s; text %r\n" % (fragua, BIN, TEXT))
    print("| model | outtype | prompt tokens (llama.cpp) | tokenizer ids equal | greedy tokens equal |")
    print("|---|---|---|---|---|")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        hf = HF
        for label, fixture, tok in MODELS:
            for outtype in a.outtypes.split(","):
                gguf = os.path.join(tmp, "%s-%s-%s.gguf" % (fixture, tok, outtype))
                run([fragua, "convert", os.path.join(hf, fixture), "-o", gguf, "--outtype", outtype, "--tokenizer",
                     tok])
                theirs_tok = ids_of(run([os.path.join(BIN, "llama-tokenize"), "-m", gguf, "-p", TEXT, "--ids",
                                         "--log-disable"]).strip().splitlines()[-1])
                ours_tok = ids_of(run([fragua, "tokenizer", "encode", "-k", gguf, "--text", TEXT, "--bos"]))
                prompt = ",".join(str(i) for i in theirs_tok)
                theirs = ids_of(run([os.path.join(BIN, "llama-simple-ids"), gguf, str(a.n), prompt]))
                ours = ids_of(run([fragua, "generate", gguf, "--prompt-ids", prompt, "-n", str(a.n), "--temp", "0"]))
                same_tok = ours_tok == theirs_tok
                same = first_difference(ours, theirs)
                # fragua generate stops at an end-of-generation token; llama-simple-ids runs on.
                failed |= not same_tok or same != len(ours) or len(ours) == 0
                print("| %s | %s | %d | %s | %d of %d%s |" % (
                    label, outtype, len(theirs_tok),
                    "yes" if same_tok else "no (first difference at %d)" % first_difference(ours_tok, theirs_tok),
                    same, len(ours), "" if len(ours) == a.n else " (fragua stopped at end of generation)"),
                    flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
