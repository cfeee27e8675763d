#!/usr/bin/python3
"""Fragua vs llama.cpp on the same GGUF files and thread counts: prompt processing (pp512) and
generation (tg128) tokens/s, peak memory, and greedy agreement. Runs the two engines interleaved,
`--reps` times, and reports medians and the ratio Fragua / llama.cpp per row.

Usage: bench/engine.py [--reps 3] [--threads 1,2] [--sizes 15M,110M] [--types F16,Q8_0,Q4_0,Q4_K]
Needs: a release build (cmake --preset release && cmake --build --preset release) and
bench/llama_cpp_setup.sh (run automatically; builds llama.cpp once into ~/.cache/fragua-bench)."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

try:
    import numpy  # noqa: F401  (the agreement check compares logits)
except ImportError:  # a pyenv/venv python3 first on PATH: use Debian's, which has python3-numpy
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("FRAGUA_BENCH_CACHE", os.path.expanduser("~/.cache/fragua-bench"))
FRAGUA = os.path.join(ROOT, "build", "release", "fragua")
FBENCH = os.path.join(ROOT, "build", "release", "bench_engine_bench")
# Llama-2-style configurations of the llama2.c "stories" models (random weights).
SIZES = {
    "15M": dict(embd=288, layers=6, heads=6, kv_heads=6, ff=768, vocab=32000),
    "110M": dict(embd=768, layers=12, heads=12, kv_heads=12, ff=2048, vocab=32000),
}
QUANT = {"Q8_0": "Q8_0", "Q4_0": "Q4_0", "Q4_K": "Q4_K_M"}


def run_measured(cmd):
    """Runs cmd, returns (stdout, peak RSS in MB) using wait4's rusage for that child alone."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{err.decode(errors='replace')[-2000:]}")
    return out.decode(), ru.ru_maxrss / 1024.0


def make_models(llama_bin, sizes, types):
    models = {}
    os.makedirs(os.path.join(CACHE, "models"), exist_ok=True)
    for size in sizes:
        c = SIZES[size]
        f16 = os.path.join(CACHE, "models", f"llama-{size}-F16.gguf")
        if not os.path.exists(f16):
            subprocess.check_call([FRAGUA, "dev", "random-model", f16, "--arch", "llama", "--dtype", "f16",
                                   "--embd", str(c["embd"]), "--layers", str(c["layers"]), "--heads", str(c["heads"]),
                                   "--kv-heads", str(c["kv_heads"]), "--ff", str(c["ff"]), "--vocab", str(c["vocab"]),
                                   "--ctx", "2048", "--seed", "7"])
        for t in types:
            path = f16 if t == "F16" else os.path.join(CACHE, "models", f"llama-{size}-{t}.gguf")
            if not os.path.exists(path):
                subprocess.check_call([os.path.join(llama_bin, "llama-quantize"), f16, path, QUANT[t]],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            models[(size, t)] = path
    return models


def llama_bench(llama_bin, model, threads, mode, n):
    args = [os.path.join(llama_bin, "llama-bench"), "-m", model, "-t", str(threads), "-r", "1", "-o", "json"]
    args += ["-p", str(n), "-n", "0"] if mode == "pp" else ["-p", "0", "-n", str(n)]
    out, rss = run_measured(args)
    return json.loads(out)[0]["avg_ts"], rss


def fragua_bench(model, threads, mode, n):
    out, rss = run_measured([FBENCH, model, str(threads), mode, str(n)])
    return json.loads(out)["tps"], rss


def greedy_agreement(llama_bin, model, n=64):
    """Identical greedy tokens from the same prompt ids, and how far apart the first-step logits
    are (max |ours - theirs| / max |theirs|, and the peer's margin between its top two)."""
    import numpy as np
    prompt = "1,450,1200,37,9000,15,600,2200"
    ours_f, theirs_f = os.path.join(CACHE, "logits_fragua.bin"), os.path.join(CACHE, "logits_llama.bin")
    ours = subprocess.check_output([FBENCH, model, "1", "greedy", str(n), prompt],
                                   env=dict(os.environ, DUMP_LOGITS=ours_f)).decode().strip()
    theirs = subprocess.check_output([os.path.join(llama_bin, "llama-simple-ids"), model, str(n), prompt],
                                     stderr=subprocess.DEVNULL, env=dict(os.environ, DUMP_LOGITS=theirs_f)).decode().strip()
    a, b = ours.split(","), theirs.split(",")
    same = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    la, lb = np.fromfile(ours_f, dtype=np.float32), np.fromfile(theirs_f, dtype=np.float32)
    top = np.sort(lb)[::-1]
    return same, len(a), float(np.abs(la - lb).max() / np.abs(lb).max()), float(top[0] - top[1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--sizes", default="15M,110M")
    ap.add_argument("--types", default="F16,Q8_0,Q4_0,Q4_K")
    ap.add_argument("--json", default=os.path.join(CACHE, "engine_bench.json"))
    ap.add_argument("--agreement-only", action="store_true", help="skip the speed table")
    a = ap.parse_args()
    for exe in (FRAGUA, FBENCH):
        if not os.path.exists(exe):
            sys.exit(f"{exe} is missing: cmake --preset release && cmake --build --preset release")
    llama_bin = subprocess.check_output([os.path.join(ROOT, "bench", "llama_cpp_setup.sh")]).decode().strip()
    sizes, types = a.sizes.split(","), a.types.split(",")
    threads = [int(t) for t in a.threads.split(",")]
    models = make_models(llama_bin, sizes, types)
    rows = []
    print(f"{'model':<14} {'thr':>3} {'test':<6} {'llama.cpp t/s':>14} {'fragua t/s':>11} {'ratio':>6} "
          f"{'llama MB':>9} {'fragua MB':>9} {'mem ratio':>9}", flush=True)
    for (size, t), path in ([] if a.agreement_only else models.items()):
        for th in threads:
            for mode, n in (("pp", 512), ("tg", 128)):
                ls, fs, lm, fm = [], [], [], []
                for _ in range(a.reps):  # interleaved: llama.cpp, then Fragua, repeated
                    x, m = llama_bench(llama_bin, path, th, mode, n)
                    ls.append(x)
                    lm.append(m)
                    y, m = fragua_bench(path, th, mode, n)
                    fs.append(y)
                    fm.append(m)
                row = dict(model=f"{size} {t}", threads=th, test=f"{mode}{n}", llama=statistics.median(ls),
                           fragua=statistics.median(fs), llama_mb=statistics.median(lm), fragua_mb=statistics.median(fm))
                row["ratio"] = row["fragua"] / row["llama"]
                row["mem_ratio"] = row["fragua_mb"] / row["llama_mb"]
                rows.append(row)
                print(f"{row['model']:<14} {th:>3} {row['test']:<6} {row['llama']:>14.1f} {row['fragua']:>11.1f} "
                      f"{row['ratio']:>6.2f} {row['llama_mb']:>9.1f} {row['fragua_mb']:>9.1f} {row['mem_ratio']:>9.2f}",
                      flush=True)
    print("\ngreedy agreement (64 tokens from the same prompt ids, 1 thread):")
    agree = {}
    for (size, t), path in models.items():
        if t in ("F16", "Q8_0"):
            same, n, rel, margin = greedy_agreement(llama_bin, path)
            agree[f"{size} {t}"] = dict(identical=same, of=n, first_logits_rel_diff=rel, peer_top2_margin=margin)
            print(f"  {size} {t}: {same}/{n} identical tokens{'' if same == n else '  <-- DIFFERS'}; first-step "
                  f"logits max|diff|/max|logit| {rel:.2e}, llama.cpp top-2 margin {margin:.3f}")
    with open(a.json, "w") as f:
        json.dump(dict(time=time.time(), rows=rows, agreement=agree), f, indent=1)


if __name__ == "__main__":
    main()
