#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Tokenizer benchmarks, side by side with the peers, interleaved and repeated (medians).

  1. exactness: every llama.cpp vocab test vector in the llama.cpp source (llama-bpe, qwen2,
     command-r, ...), from node-llama-cpp@3.21.1's llama/gitRelease.bundle;
  2. encode throughput (MB/s, one thread) against spm_encode on the same model and text;
  3. training time against spm_train on the same corpus and vocabulary size;
  4. fertility per language of a tokenizer trained here next to Llama 2, Llama 3 and o200k
     (npm packages llama-tokenizer-js, llama3-tokenizer-js, gpt-tokenizer).

Peers and data go to ~/.cache/fragua-bench (never the repository). Usage:
  python3 bench/tokenize.py [--build build/release] [--vocab 32000] [--repeat 5]
"""
import argparse, json, os, resource, statistics, subprocess, sys, time

HOME = os.path.expanduser("~")
CACHE = os.environ.get("FRAGUA_BENCH_CACHE", os.path.join(HOME, ".cache", "fragua-bench"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LANGS = ["es", "ca", "eu", "gl", "en"]


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=True, check=True, **kw)


def timed(cmd):
    """Wall seconds and CPU seconds (user+sys of the children): on a shared, loaded machine the
    CPU time is the steadier measure, so both are reported."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    sh(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def med(xs, i):
    return statistics.median(x[i] for x in xs)


def ensure_llama_cpp():
    dst = os.path.join(CACHE, "llama.cpp")
    if os.path.isdir(os.path.join(dst, "models")):
        return dst  # another bench may have cloned it already: reuse, never build
    pkg = os.path.join(CACHE, "node-llama-cpp-pkg")
    os.makedirs(pkg, exist_ok=True)
    sh(f"cd {pkg} && npm pack --silent node-llama-cpp@3.21.1 >/dev/null && tar xzf node-llama-cpp-3.21.1.tgz")
    sh(f"git clone -q {pkg}/package/llama/gitRelease.bundle {dst}")
    return dst


def ensure_npm():
    d = os.path.join(CACHE, "tokenize-npm")
    if not os.path.isdir(os.path.join(d, "node_modules", "gpt-tokenizer")):
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "package.json"), "w") as f:
            f.write('{"name":"fragua-tokenize-bench","private":true,"type":"module"}\n')
        sh(f"cd {d} && npm install --no-audit --no-fund llama-tokenizer-js llama3-tokenizer-js gpt-tokenizer >/dev/null")
    return d


NODE_SCRIPT = r"""
import fs from 'fs';
import llama2 from 'llama-tokenizer-js';
import llama3 from 'llama3-tokenizer-js';
import { encode as o200k } from 'gpt-tokenizer/encoding/o200k_base';
const out = [];
for (const [lang, path] of JSON.parse(process.argv[2])) {
  const lines = fs.readFileSync(path, 'utf8').split('\n').filter(l => l.length);
  const words = lines.reduce((n, l) => n + l.split(/[ \t\r]+/).filter(w => w.length).length, 0);
  const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l), 0);
  for (const [name, enc] of [['llama2 (npm)', l => llama2.encode(l, false)],
                             ['llama3 (npm)', l => llama3.encode(l, {bos: false, eos: false})],
                             ['o200k (npm)', l => o200k(l)]]) {
    let tokens = 0;
    for (const l of lines) tokens += enc(l).length;
    out.push({tokenizer: name, lang, words, bytes, tokens, fertility: tokens / words, bytes_per_token: bytes / tokens});
  }
}
console.log(JSON.stringify(out));
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", choices=["vectors", "train", "encode", "fertility"], help="run one part")
    a = ap.parse_args()
    fragua = os.path.join(a.build, "fragua")
    work = os.path.join(CACHE, "tokenize-work")
    os.makedirs(work, exist_ok=True)
    sh(f"{ROOT}/bench/tokenize_corpus.sh >/dev/null")
    corpus = os.path.join(CACHE, "tokenize-corpus")
    train_files = [f"{corpus}/{l}.train.txt" for l in ["es", "ca", "eu", "gl"]]
    all_train = os.path.join(work, "train.txt")
    sh(f"cat {' '.join(train_files)} > {all_train}")
    test_text = os.path.join(work, "test.txt")
    sh(f"cat {' '.join(f'{corpus}/{l}.test.txt' for l in LANGS)} > {test_text}")
    # Distinct lines only (train + test of all five languages): repeating a text would flatter
    # the word cache.
    big = os.path.join(work, "encode.txt")
    sh(f"cat {corpus}/*.train.txt {corpus}/*.test.txt > {big}")

    run = lambda part: a.only in (None, part)
    llama = ensure_llama_cpp()
    if run("vectors"):
        print("## 1. llama.cpp vocab test vectors")
        sh(f"{a.build}/bench_tokenize_vectors {llama}/models")

    ours = os.path.join(work, f"fragua{a.vocab}")
    spm = os.path.join(work, f"spm{a.vocab}")
    if run("train"):
        train(a, fragua, ours, spm, all_train, train_files)
    if run("encode"):
        encode(a, fragua, spm, big, work)
    if run("fertility"):
        fertility(fragua, ours, spm, llama, corpus, work)


def train(a, fragua, ours, spm, all_train, train_files):
    print(f"\n## 2. training, {os.path.getsize(all_train)/1e6:.1f} MB (es, ca, eu, gl), vocab {a.vocab}, {a.threads} threads")
    inputs = " ".join(f"-i {l}={p}" for l, p in zip(["es", "ca", "eu", "gl"], train_files))
    cmd_ours = (f"{fragua} -q tokenizer train {inputs} --mix es=0.3,ca=0.25,eu=0.25,gl=0.2 "
                f"--vocab-size {a.vocab} --special '<|im_start|>' --special '<|im_end|>' -t {a.threads} -o {ours}")
    cmd_spm = (f"spm_train --input={all_train} --model_prefix={spm} --model_type=bpe --vocab_size={a.vocab} "
               f"--byte_fallback=true --split_digits=true --normalization_rule_name=identity "
               f"--num_threads={a.threads} --minloglevel=2 --input_sentence_size=100000000")
    t_ours, t_spm = [], []
    for _ in range(max(1, a.repeat // 2)):
        t_spm.append(timed(cmd_spm))
        t_ours.append(timed(cmd_ours))
    for i, what in ((0, "wall"), (1, "cpu")):
        mo, ms = med(t_ours, i), med(t_spm, i)
        print(f"{what}: fragua tokenizer train median {mo:.2f} s {['%.2f' % t[i] for t in t_ours]}; "
              f"spm_train median {ms:.2f} s {['%.2f' % t[i] for t in t_spm]}; ratio {mo/ms:.3f} (target <= 0.5)")
    print(f"command: {cmd_ours}\npeer:    {cmd_spm}")



def encode(a, fragua, spm, big, work):
    mb = os.path.getsize(big) / 1e6
    print(f"\n## 3. encode throughput, one thread, {mb:.1f} MB, same SentencePiece model ({spm}.model)")
    ids_ours, ids_spm = os.path.join(work, "ids.fragua"), os.path.join(work, "ids.spm")
    sh(f"{fragua} tokenizer encode -k {spm}.model --no-bos --no-parse-special --input {big} > {ids_ours}")
    sh(f"spm_encode --model={spm}.model --output_format=id < {big} > {ids_spm}")
    same = open(ids_ours, "rb").read() == open(ids_spm, "rb").read()
    print(f"identical ids: {same}")
    e_ours, e_spm = [], []
    for _ in range(a.repeat):
        e_spm.append(timed(f"spm_encode --model={spm}.model --output_format=id < {big} > /dev/null"))
        e_ours.append(timed(f"{fragua} tokenizer encode -k {spm}.model --no-bos --no-parse-special --input {big} > /dev/null"))
    for i, what in ((0, "wall"), (1, "cpu")):
        eo, es = mb / med(e_ours, i), mb / med(e_spm, i)
        print(f"{what}: fragua tokenizer encode median {eo:.2f} MB/s {['%.2f' % (mb / x[i]) for x in e_ours]}; "
              f"spm_encode median {es:.2f} MB/s {['%.2f' % (mb / x[i]) for x in e_spm]}; ratio {eo/es:.2f}x (target >= 2)")



def fertility(fragua, ours, spm, llama, corpus, work):
    print("\n## 4. fertility on held-out text (tokens per word; bytes per token)")
    stats_json = os.path.join(work, "stats.json")
    texts = " ".join(f"--text {l}={corpus}/{l}.test.txt" for l in LANGS)
    toks = (f"-t {ours}.gguf -t {spm}.model -t {llama}/models/ggml-vocab-llama-spm.gguf "
            f"-t {llama}/models/ggml-vocab-llama-bpe.gguf")
    sh(f"{fragua} tokenizer stats {toks} {texts} --json {stats_json} > /dev/null")
    rows = json.load(open(stats_json))
    npm = ensure_npm()
    script = os.path.join(npm, "fertility.mjs")
    open(script, "w").write(NODE_SCRIPT)
    pairs = json.dumps([[l, f"{corpus}/{l}.test.txt"] for l in LANGS])
    rows += json.loads(subprocess.run(["node", script, pairs], cwd=npm, check=True, capture_output=True, text=True).stdout)
    names = []
    for r in rows:
        if r["tokenizer"] not in names:
            names.append(r["tokenizer"])
    by = {(r["lang"], r["tokenizer"]): r for r in rows}
    print("| lang | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for l in LANGS:
        cells = []
        for n in names:
            r = by.get((l, n))
            cells.append(f"{r['fertility']:.3f} ({r['bytes_per_token']:.2f} B)" if r else "-")
        print(f"| {l} | " + " | ".join(cells) + " |")
    print("\nfertility relative to English, per tokenizer:")
    for n in names:
        en = by.get(("en", n))
        if en:
            print(f"  {n}: " + ", ".join(f"{l} {by[(l, n)]['fertility'] / en['fertility']:.2f}x" for l in LANGS if (l, n) in by))


if __name__ == "__main__":
    sys.exit(main())
