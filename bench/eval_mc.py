#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Multiple-choice scoring speed of `fragua eval run` against llama.cpp's llama-perplexity
(--multiple-choice and --hellaswag) on the same model and questions: questions per second of each
(wall clock of the whole command, model load included) and the agreement of their per-question
outcomes.

The questions come from Fragua's minimal pairs (data/eval/tasks/fragua_pairs_{es,ca,gl,eu}): the
words the two sentences share before they part are the question, the rest of each sentence a
choice (the grammatical one is right). Pairs that differ in their first word are left out. For
--hellaswag, which takes exactly 4 endings, each question gets two more endings: the rests of
the next two questions' grammatical sentences.

Both tools read context + " " + ending with BOS (`fragua eval run --add-bos`). llama.cpp picks the
ending with the highest mean log-probability per token over the tokens after the prefix that all
endings share (a prefix that can reach into the endings); the harness's acc the highest sum and
acc_norm the highest per character. The agreement columns compare llama.cpp's right/wrong per
question with fragua's under acc, acc_norm, the mean per token over the harness's continuation
tokens, and llama.cpp's own rule applied to fragua's per-token log-probabilities (--log-samples'
token_logprobs and token_ids): the shared leading tokens dropped, the rest averaged. --whole adds
the same rule on choices tokenized as one text, as llama.cpp tokenizes them (docs/eval.md).
--hellaswag scores its tasks in an order drawn at random without replacement; its k-th line is
reproduced by hellaswag_order. --reps N runs each tool N times per row, interleaved, and reports
the medians of the wall clocks.

Usage: bench/eval_mc.py [--models llama-15M-F16,llama-110M-F16] [--langs es,ca,gl,eu] [--threads 2]
                        [--limit N] [--batch-size 8] [--modes mc,hellaswag] [--reps N] [--whole]
Needs bench/llama_cpp_setup.sh (llama-perplexity), the bench models in ~/.cache/fragua-bench/models
and a release build of fragua (cmake --preset release; cmake --build --preset release --target fragua).
"""
import argparse
import json
import os
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import fragua_bench  # noqa: E402  (bench/ is the script's directory, first on sys.path)

ROOT = fragua_bench.ROOT
CACHE = os.environ.get("FRAGUA_BENCH_CACHE", os.path.expanduser("~/.cache/fragua-bench"))


def llama_perplexity():
    exe = os.path.join(CACHE, "llama.cpp", "build", "bin", "llama-perplexity")
    if not os.path.exists(exe):
        sys.exit("eval_mc.py: run bench/llama_cpp_setup.sh first (no %s)" % exe)
    return exe


def questions(lang, limit):
    path = os.path.join(ROOT, "data", "eval", "tasks", "fragua_pairs_" + lang, "test.jsonl")
    out = []
    for line in open(path, encoding="utf-8"):
        d = json.loads(line)
        good, bad = d["sentence_good"].split(" "), d["sentence_bad"].split(" ")
        k = 0
        while k < min(len(good), len(bad)) and good[k] == bad[k]:
            k += 1
        if k == 0 or k == len(good) or k == len(bad):
            continue
        out.append({"context": " ".join(good[:k]), "choices": [" ".join(good[k:]), " ".join(bad[k:])], "gold": 0})
    if limit:
        out = out[:limit]
    return out


def with_four_endings(qs):
    out = []
    for i, q in enumerate(qs):
        extra = [qs[(i + 1) % len(qs)]["choices"][0], qs[(i + 2) % len(qs)]["choices"][0]]
        out.append({"context": q["context"], "choices": q["choices"] + extra, "gold": 0})
    return out


def write_task(qs, folder, name, whole=False):
    """The questions as a fragua task. `whole`: each choice is context + " " + ending after an
    empty context (target_delimiter ""), so that fragua tokenizes the whole text in one piece as
    llama-perplexity does (the context's tokens then come with each choice's)."""
    os.makedirs(os.path.join(folder, name), exist_ok=True)
    with open(os.path.join(folder, name, "test.jsonl"), "w", encoding="utf-8") as f:
        for q in qs:
            if whole:
                q = {"context": "", "choices": [q["context"] + " " + c for c in q["choices"]], "gold": q["gold"]}
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    yaml = os.path.join(folder, name + ".yaml")
    with open(yaml, "w", encoding="utf-8") as f:
        f.write("task: %s\ndataset_path: %s\ntest_split: test\ndoc_to_text: %s\n"
                "doc_to_choice: choices\ndoc_to_target: gold\n%smetric_list:\n  - metric: acc\n"
                "  - metric: acc_norm\n" % (name, name, '""' if whole else "context",
                                             'target_delimiter: ""\n' if whole else ""))
    return yaml


def write_multiple_choice_file(qs, path):
    """llama-perplexity --multiple-choice's binary task file (tools/perplexity/perplexity.cpp:
    multiple_choice_score): u32 task count, u32 byte offset of each task, then per task the
    question and two answer sets (mc1: single correct, mc2: empty), each a u32 count, the strings
    (u32 length + UTF-8 bytes) and one i32 label per answer."""
    def s(text):
        b = text.encode("utf-8")
        return struct.pack("<I", len(b)) + b

    bodies = []
    for q in qs:
        body = s(q["context"]) + struct.pack("<I", len(q["choices"]))
        for c in q["choices"]:
            body += s(c)
        body += struct.pack("<%di" % len(q["choices"]), *[1 if i == q["gold"] else 0 for i in range(len(q["choices"]))])
        body += struct.pack("<I", 0)  # mc2: no answers
        bodies.append(body)
    header = 4 + 4 * len(qs)
    offsets, at = [], header
    for b in bodies:
        offsets.append(at)
        at += len(b)
    with open(path, "wb") as f:
        f.write(struct.pack("<I", len(qs)) + struct.pack("<%dI" % len(qs), *offsets) + b"".join(bodies))


def write_hellaswag_file(qs, path):
    """llama-perplexity --hellaswag's text file: per task 6 lines (context, gold index, 4 endings)."""
    with open(path, "w", encoding="utf-8") as f:
        for q in qs:
            f.write("\n".join([q["context"], str(q["gold"])] + q["choices"]) + "\n")


def mt19937_outputs(seed):
    """std::mt19937(seed)'s 32-bit outputs, through Python's Mersenne Twister given the state
    std::mt19937's constructor makes (init_genrand; Python's own seeding differs)."""
    import random
    mt = [seed & 0xFFFFFFFF]
    for i in range(1, 624):
        mt.append((1812433253 * (mt[-1] ^ (mt[-1] >> 30)) + i) & 0xFFFFFFFF)
    r = random.Random()
    r.setstate((3, tuple(mt + [624]), None))
    while True:
        yield r.getrandbits(32)


def hellaswag_order(n_tasks, n):
    """The tasks llama-perplexity --hellaswag scores, in its order: it draws them at random
    without replacement (tools/perplexity/perplexity.cpp, hellaswag_score: std::mt19937 rng(1),
    std::uniform_int_distribution<size_t>(0, tasks left - 1), then erases the drawn task's six
    lines, so the range shrinks by one per draw). libstdc++ draws a 32-bit range by Lemire's
    multiply-and-reject (uniform_int_dist.h, _S_nd)."""
    gen = mt19937_outputs(1)
    left = list(range(n_tasks))
    order = []
    for _ in range(n):
        span = len(left)
        product = next(gen) * span
        low = product & 0xFFFFFFFF
        if low < span:
            threshold = (2**32 - span) % span  # -range % range in 32-bit unsigned arithmetic
            while low < threshold:
                product = next(gen) * span
                low = product & 0xFFFFFFFF
        order.append(left.pop(product >> 32))
    return order


def theirs(model, mode, path, n, threads):
    args = [llama_perplexity(), "-m", model, "-f", path, "-t", str(threads), "-c", "512", "-b", "512"]
    args += ["--multiple-choice", "--multiple-choice-tasks", "0"] if mode == "mc" else ["--hellaswag",
                                                                                          "--hellaswag-tasks", str(n)]
    t0 = time.time()
    r = subprocess.run(args, capture_output=True, text=True)
    wall = time.time() - t0
    if r.returncode != 0:
        sys.exit("llama-perplexity failed:\n%s" % (r.stdout + r.stderr)[-2000:])
    # One line per question: "<n>\t<running accuracy in %>" (hellaswag: "<n>\t<acc>\t[lo, hi]"); the
    # change of n * accuracy tells whether question n was right.
    right, prev = [], 0
    for m in re.finditer(r"^(\d+)\t([0-9.]+)", r.stdout + r.stderr, re.M):
        k, acc = int(m.group(1)), float(m.group(2))
        correct = round(k * acc / 100.0)
        right.append(correct > prev)
        prev = correct
    return wall, right


def ours(model, yaml, threads, batch_size, tmp):
    samples = os.path.join(tmp, "samples.jsonl")
    args = [fragua_bench.fragua_bin("eval_mc.py"), "-q", "eval", "run", "-m", model, "--tasks", yaml, "--add-bos",
            "-t", str(threads), "-b", str(batch_size), "--log-samples", samples]
    t0 = time.time()
    subprocess.run(args, check=True, capture_output=True, text=True)
    wall = time.time() - t0
    rows = [json.loads(line) for line in open(samples)]

    def per_token(r):
        means = [ll / n for ll, n in zip(r["loglikelihoods"], r["tokens"])]
        return means.index(max(means))

    return (wall, [r["pred"] == r["gold"] for r in rows], [r["pred_norm"] == r["gold"] for r in rows],
            [per_token(r) == r["gold"] for r in rows], [llama_pick(r) == r["gold"] for r in rows])


def llama_pick(r):
    """llama-perplexity's choice (hellaswag_score, multiple_choice_score) from fragua's own
    per-token log-probabilities: the tokens that every choice shares at its start are left out (it
    tokenizes context + " " + ending whole and takes the common token prefix, which can reach into
    the endings), the rest averaged; the first maximum wins. Fragua's tokens are the harness's
    split (context, then the continuation from the whole encoding): the same tokens wherever the
    space before the ending is a token boundary."""
    ids, lps = r["token_ids"], r["token_logprobs"]
    k = 0
    while all(k < len(t) for t in ids) and all(t[k] == ids[0][k] for t in ids):
        k += 1
    means = [sum(lp[k:]) / len(lp[k:]) if len(lp) > k else float("-inf") for lp in lps]
    return means.index(max(means))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", "--model", default="llama-15M-F16,llama-110M-F16",
                    help="bench models (comma-separated names in ~/.cache/fragua-bench/models)")
    ap.add_argument("--langs", default="es,ca,gl,eu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="questions per language (0: all)")
    ap.add_argument("--batch-size", type=int, default=8, help="fragua eval run -b (questions per forward pass)")
    ap.add_argument("--modes", default="mc,hellaswag")
    ap.add_argument("--whole", action="store_true",
                    help="also score each choice as one text (context + \" \" + ending, tokenized whole as "
                         "llama-perplexity does) and report the agreement of llama.cpp's rule on that")
    ap.add_argument("--reps", type=int, default=1,
                    help="runs of each tool per row, interleaved (llama, fragua, llama, ...); q/s from the median")
    a = ap.parse_args()
    print("| model | mode | lang | questions | llama-perplexity q/s | fragua q/s | fragua / llama | "
          "agreement (acc) | agreement (acc_norm) | agreement (mean per token) | agreement (llama.cpp's rule) |"
          " agreement (llama.cpp's rule, whole text) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.models.split(","):
            model = os.path.join(CACHE, "models", name + ".gguf")
            total = {"n": 0, "theirs": 0.0, "ours": 0.0}
            for lang in a.langs.split(","):
                base = questions(lang, a.limit)
                for mode in a.modes.split(","):
                    qs = base if mode == "mc" else with_four_endings(base)
                    yaml = write_task(qs, tmp, "bench_%s_%s" % (mode, lang))
                    data = os.path.join(tmp, "%s_%s.%s" % (mode, lang, "bin" if mode == "mc" else "txt"))
                    (write_multiple_choice_file if mode == "mc" else write_hellaswag_file)(qs, data)
                    t_walls, o_walls = [], []
                    for _ in range(a.reps):
                        t_wall, t_right = theirs(model, mode, data, len(qs), a.threads)
                        o_wall, o_acc, o_norm, o_tok, o_llama = ours(model, yaml, a.threads, a.batch_size, tmp)
                        t_walls.append(t_wall)
                        o_walls.append(o_wall)
                    t_wall, o_wall = statistics.median(t_walls), statistics.median(o_walls)
                    o_whole = None
                    if a.whole:
                        whole_yaml = write_task(qs, tmp, "bench_%s_%s_whole" % (mode, lang), whole=True)
                        o_whole = ours(model, whole_yaml, a.threads, a.batch_size, tmp)[4]
                    if len(t_right) != len(qs):
                        sys.exit("llama-perplexity scored %d of %d questions" % (len(t_right), len(qs)))
                    if mode == "hellaswag":
                        # Its k-th line is the question it drew k-th (with replacement).
                        order = hellaswag_order(len(qs), len(qs))
                        o_acc, o_norm, o_tok, o_llama = ([r[i] for i in order] for r in (o_acc, o_norm, o_tok, o_llama))
                        if o_whole:
                            o_whole = [o_whole[i] for i in order]

                    def agree(ours_right):
                        return sum(x == y for x, y in zip(t_right, ours_right)) / len(qs)

                    total["n"] += len(qs)
                    total["theirs"] += t_wall
                    total["ours"] += o_wall
                    print("| %s | %s | %s | %d | %.1f | %.1f | %.2fx | %.3f | %.3f | %.3f | %.3f | %s |" % (
                        name, "--multiple-choice" if mode == "mc" else "--hellaswag", lang, len(qs),
                        len(qs) / t_wall, len(qs) / o_wall, t_wall / o_wall, agree(o_acc), agree(o_norm),
                        agree(o_tok), agree(o_llama), "%.3f" % agree(o_whole) if o_whole else "–"), flush=True)
            print("| %s | all | all | %d | %.1f | %.1f | %.2fx | | | | | |" % (
                name, total["n"], total["n"] / total["theirs"], total["n"] / total["ours"],
                total["theirs"] / total["ours"]), flush=True)


if __name__ == "__main__":
    main()
