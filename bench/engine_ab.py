#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Fragua against Fragua: two builds of the engine (A = a baseline build directory, B = this tree's
release build) on the same GGUF files, for a refactoring that must change nothing. Runs the two
interleaved, `--reps` times, prints medians and the ratio B / A for prompt processing (pp512) and
generation (tg128), and checks that both builds produce identical greedy tokens and bit-identical
first-step logits.

Usage: bench/engine_ab.py --a /path/to/baseline/build/release [--b build/release] [--reps 5]
                          [--threads 2] [--sizes 110M,0.9B] [--types Q8_0,Q4_0,Q4_K]
A baseline build: git worktree add /tmp/base <commit> && cd /tmp/base && cmake --preset release &&
cmake --build --preset release --target fragua_cli bench_engine_bench. Models come from
bench/engine.py's cache (random weights written by `fragua dev random-model`, quantized by
llama-quantize from bench/llama_cpp_setup.sh)."""
import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("engine", os.path.join(HERE, "engine.py"))
engine = importlib.util.module_from_spec(spec)
spec.loader.exec_module(engine)


def bench(exe, model, threads, mode, n):
    out, rss = engine.run_measured([exe, model, str(threads), mode, str(n)])
    return json.loads(out)["tps"], rss


def greedy(exe, model, n=64, prompt="1,450,1200,37,9000,15,600,2200"):
    import numpy as np
    dump = os.path.join(engine.CACHE, f"ab-logits-{os.getpid()}.bin")
    ids = subprocess.check_output([exe, model, "1", "greedy", str(n), prompt], stderr=subprocess.DEVNULL,
                                  env=dict(os.environ, DUMP_LOGITS=dump))
    logits = np.fromfile(dump, dtype=np.float32)
    os.remove(dump)
    return ids.decode().strip(), logits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True, help="baseline build directory (holds bench_engine_bench)")
    ap.add_argument("--b", default=os.path.join(engine.ROOT, "build", "release"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", default="2")
    ap.add_argument("--sizes", default="110M,0.9B")
    ap.add_argument("--types", default="Q8_0,Q4_0,Q4_K")
    a = ap.parse_args()
    exe_a, exe_b = (os.path.join(d, "bench_engine_bench") for d in (a.a, a.b))
    engine.FRAGUA = os.path.join(a.b, "fragua")  # writes the random models that are not cached yet
    for exe in (exe_a, exe_b, engine.FRAGUA):
        if not os.path.exists(exe):
            sys.exit(f"{exe} is missing")
    llama_bin = subprocess.check_output([os.path.join(HERE, "llama_cpp_setup.sh")]).decode().strip()
    models = engine.make_models(llama_bin, a.sizes.split(","), a.types.split(","))
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"CPU: {cpu}; A = {a.a}, B = {a.b}; medians of {a.reps} interleaved runs")
    print(f"{'model':<12} {'thr':>3} {'test':<6} {'A t/s':>9} {'B t/s':>9} {'B/A':>6}  greedy/logits A vs B",
          flush=True)
    for (size, t), path in models.items():
        ids_a, la = greedy(exe_a, path)
        ids_b, lb = greedy(exe_b, path)
        same = "identical" if ids_a == ids_b and la.tobytes() == lb.tobytes() else "DIFFER"
        for th in (int(x) for x in a.threads.split(",")):
            for mode, n in (("pp", 512), ("tg", 128)):
                xa, xb = [], []
                for r in range(a.reps):  # ABAB... with the order swapped every other rep
                    first, second = (exe_a, exe_b) if r % 2 == 0 else (exe_b, exe_a)
                    v1, _ = bench(first, path, th, mode, n)
                    v2, _ = bench(second, path, th, mode, n)
                    (xa if first == exe_a else xb).append(v1)
                    (xb if second == exe_b else xa).append(v2)
                ma, mb = statistics.median(xa), statistics.median(xb)
                print(f"{size + ' ' + t:<12} {th:>3} {mode}{n:<4} {ma:>9.1f} {mb:>9.1f} {mb / ma:>6.3f}  {same}",
                      flush=True)


if __name__ == "__main__":
    main()
