#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Fragua vs llama.cpp on the same GGUF files and thread counts: prompt processing (pp512) and
generation (tg128) tokens/s, peak memory, and greedy agreement. Runs the two engines interleaved,
`--reps` times, and reports medians and the ratio Fragua / llama.cpp per row.

Usage: bench/engine.py [--reps 3] [--threads 1,2] [--sizes 15M,110M] [--types F16,Q8_0,Q4_0,Q4_K]
                       [--pp 512] [--tg 128] [--agreement-only | --speed-only] [--trained out/demo/model.gguf]
                       [--avx2]
Sizes: 15M, 110M (llama2.c shapes), 0.9B (TinyLlama-like), 3B (Llama-3.2-3B-like: embd 3072, 28
layers, 24 heads / 8 KV heads, ff 8192, vocab 32000) and 3B-256k (the same with a 256,000-token
vocabulary and an untied output head, as Salamandra's); types F16, Q8_0, Q4_0, Q4_K (llama-quantize's
Q4_K_M mix), Q5_K (Q5_K_M), Q6_K, Q3_K (Q3_K_M) and Q2_K, written once into ~/.cache/fragua-bench/models (the 3B-256k
F16 file is 9.6 GB). The header gives the CPU model and SIMD flags and the DRAM read bandwidth
measured by bench/membw.cpp (1 GiB buffer, each thread count used); each generation row gives, per
engine, the fraction of the bandwidth bound it reaches: tokens/s x bytes of weights read per token
(every matrix once; of the embedding table one row) / measured bandwidth. The bandwidth of a shared
VM moves with its neighbours from one minute to the next (28-62 GB/s at 2 threads on the same VM
in one night), so the probe runs again before every repetition of a generation row and after the
last, and the row's bound is the best of those readings; the row prints their range and the GB/s
each engine streamed.
The agreement check runs on the random-weight models above and, when present, on a trained
model (default: the one the quick start writes, out/demo/model.gguf), converted to F16 and Q8_0
by llama-quantize. For each file it also compares Fragua's AVX-512 and AVX2 paths with each other:
two correct engines that add in a different order can only be expected to agree where Fragua
agrees with itself.
With --avx2 the speed rows compare the engines as an AVX2-only CPU runs them: llama.cpp built
without AVX-512 or AVX-VNNI, Fragua with FRAGUA_SIMD=avx2.
Needs: a release build (cmake --preset release && cmake --build --preset release) and
bench/llama_cpp_setup.sh (run automatically; builds llama.cpp once into ~/.cache/fragua-bench)."""
import argparse
import importlib.util
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
    # A ~0.9B Llama (TinyLlama-like shapes, grouped-query attention): weights stream from DRAM.
    "0.9B": dict(embd=2048, layers=16, heads=16, kv_heads=8, ff=5632, vocab=32000),
    # Llama-3.2-3B-like shapes (GQA 24/8); the 256k variant has Salamandra's vocabulary size and an
    # untied output head (256000 x 3072 read at every token).
    "3B": dict(embd=3072, layers=28, heads=24, kv_heads=8, ff=8192, vocab=32000),
    "3B-256k": dict(embd=3072, layers=28, heads=24, kv_heads=8, ff=8192, vocab=256000),
}
QUANT = {"Q8_0": "Q8_0", "Q4_0": "Q4_0", "Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M", "Q6_K": "Q6_K", "Q3_K": "Q3_K_M",
         "Q2_K": "Q2_K"}
# GGUF tensor types: (bytes per block, elements per block).
GGML_TYPES = {0: (4, 1), 1: (2, 1), 2: (18, 32), 3: (20, 32), 6: (22, 32), 7: (24, 32), 8: (34, 32), 10: (84, 256),
              11: (110, 256), 12: (144, 256), 13: (176, 256), 14: (210, 256), 30: (2, 1)}


def weight_bytes_per_token(path):
    """Bytes of weights one generated token reads: every tensor once, except the token embedding
    table, of which one row is read (unless the output head is tied to it and reads it whole)."""
    import mmap
    spec = importlib.util.spec_from_file_location("gguf_dump", os.path.join(ROOT, "tests", "reference", "format",
                                                                            "gguf_dump.py"))
    gguf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gguf)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        r = gguf.Reader(mm)
        if r.take("<I") != 0x46554747:
            sys.exit(f"{path}: not a GGUF file")
        r.take("<I")
        n_tensors, n_kv = r.take("<Q"), r.take("<Q")
        for _ in range(n_kv):
            r.string()
            r.value(r.take("<I"))
        sizes = {}
        for _ in range(n_tensors):
            name = r.string()
            dims = [r.take("<Q") for _ in range(r.take("<I"))]
            t = r.take("<I")
            r.take("<Q")
            if t not in GGML_TYPES:
                sys.exit(f"{path}: tensor {name} has GGML type {t}, not in bench/engine.py's GGML_TYPES")
            block, per = GGML_TYPES[t]
            n = 1
            for d in dims:
                n *= d
            sizes[name] = (n // per * block, dims)
    total = sum(b for b, _ in sizes.values())
    if "output.weight" in sizes and "token_embd.weight" in sizes:
        b, dims = sizes["token_embd.weight"]
        total -= b - b // dims[1]
    return total


# A VM often reports only "AMD EPYC" as the model name; the CPUID family and model tell the core
# apart: family 23 (0x17) Zen/Zen 2; 25 (0x19) Zen 3 at models 0x00-0x0F and 0x20-0x5F, Zen 4 at
# 0x10-0x1F, 0x60-0x7F and 0xA0-0xAF; 26 (0x1A) Zen 5.
def amd_core(family, model):
    if family == 23:
        return "Zen/Zen 2"
    if family == 25:
        return "Zen 4" if 0x10 <= model <= 0x1F or 0x60 <= model <= 0x7F or 0xA0 <= model <= 0xAF else "Zen 3"
    return "Zen 5" if family == 26 else "unknown core"


def cpu_description():
    """The CPU model, its family/model numbers and the SIMD flags that decide the kernels of both engines."""
    model, flags, fields = "?", set(), {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            key = line.split(":", 1)[0].strip()
            if key == "model name" and model == "?":
                model = line.split(":", 1)[1].strip()
            elif key in ("cpu family", "model", "vendor_id") and key not in fields:
                fields[key] = line.split(":", 1)[1].strip()
            elif key == "flags" and not flags:
                flags = set(line.split(":", 1)[1].split())
    wanted = ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16",
              "avx_vnni", "amx_tile", "amx_int8", "amx_bf16"]
    family = fields.get("cpu family", "?")
    core = ""
    if fields.get("vendor_id") == "AuthenticAMD" and family.isdigit() and fields.get("model", "").isdigit():
        core = f", {amd_core(int(family), int(fields['model']))}"
    return (f"{model} (family {family} model {fields.get('model', '?')}{core}; {os.cpu_count()} CPUs; "
            f"{' '.join(x for x in wanted if x in flags)})")


def dram_bandwidth(threads, reps=7):
    """Read bandwidth in GB/s per thread count, from bench/membw.cpp (built once into the cache)."""
    exe = os.path.join(CACHE, "membw")
    src = os.path.join(ROOT, "bench", "membw.cpp")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        subprocess.check_call(["g++", "-O2", "-mavx2", "-std=c++17", "-pthread", "-o", exe, src])
    out = subprocess.check_output([exe, "--mib", "1024", "--reps", str(reps),
                                   "--threads", ",".join(str(t) for t in threads)]).decode()
    return {r["threads"]: r["gbps"] for r in map(json.loads, out.splitlines())}


def run_measured(cmd, env=None):
    """Runs cmd, returns (stdout, peak RSS in MB) using wait4's rusage for that child alone."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
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


FRAGUA_ENV = None  # --avx2: Fragua's environment with FRAGUA_SIMD=avx2


def fragua_bench(model, threads, mode, n):
    out, rss = run_measured([FBENCH, model, str(threads), mode, str(n)], env=FRAGUA_ENV)
    return json.loads(out)["tps"], rss


def greedy_ids(cmd, env_extra):
    out_f = os.path.join(CACHE, "logits.bin")
    ids = subprocess.check_output(cmd, stderr=subprocess.DEVNULL, env=dict(os.environ, DUMP_LOGITS=out_f, **env_extra))
    import numpy as np
    return ids.decode().strip().split(","), np.fromfile(out_f, dtype=np.float32)


def first_difference(a, b):
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def greedy_agreement(llama_bin, model, n=64, prompt="1,450,1200,37,9000,15,600,2200"):
    """Identical greedy tokens from the same prompt ids (Fragua vs llama.cpp, and Fragua's AVX2 path
    vs its default path), how far apart the first-step logits are (max |ours - theirs| /
    max |theirs|), and the peer's margin between its top two logits."""
    import numpy as np
    ours, la = greedy_ids([FBENCH, model, "1", "greedy", str(n), prompt], {})
    theirs, lb = greedy_ids([os.path.join(llama_bin, "llama-simple-ids"), model, str(n), prompt], {})
    avx2, _ = greedy_ids([FBENCH, model, "1", "greedy", str(n), prompt], {"FRAGUA_SIMD": "avx2"})
    top = np.sort(lb)[::-1]
    return dict(identical=first_difference(ours, theirs), of=len(ours), self_identical=first_difference(ours, avx2),
                first_logits_rel_diff=float(np.abs(la - lb).max() / np.abs(lb).max()), peer_top2_margin=float(top[0] - top[1]),
                peer_top2_margin_rel=float((top[0] - top[1]) / np.abs(lb).max()))


def trained_models(llama_bin, path):
    """F16 and Q8_0 copies of a trained model, cached by name and modification time."""
    if not path or not os.path.exists(path):
        return {}
    tag = f"{os.path.splitext(os.path.basename(path))[0]}-{int(os.path.getmtime(path))}"
    out = {}
    for t in ("F16", "Q8_0"):
        dst = os.path.join(CACHE, "models", f"trained-{tag}-{t}.gguf")
        if not os.path.exists(dst):
            subprocess.check_call([os.path.join(llama_bin, "llama-quantize"), path, dst, t],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out[("trained", t)] = dst
    return out


TRACE_NAMES = ["attn_norm", "Qcur", "Kcur", "Vcur", "kqv_out", "attn_out", "ffn_inp", "ffn_norm", "ffn_gate", "ffn_up",
               "ffn_swiglu", "ffn_out", "l_out"]


def trace(llama_bin, model, prompt):
    """Per layer and step, max |Fragua - llama.cpp| / max |llama.cpp| over the prompt's tokens."""
    import tempfile
    import numpy as np
    with tempfile.TemporaryDirectory() as ours, tempfile.TemporaryDirectory() as theirs:
        subprocess.check_call([FBENCH, model, "1", "greedy", "1", prompt], stdout=subprocess.DEVNULL,
                              env=dict(os.environ, FRAGUA_TRACE_DIR=ours))
        subprocess.check_call([os.path.join(llama_bin, "llama-simple-ids"), model, "1", prompt], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=dict(os.environ, TRACE_DIR=theirs))
        print("layer  " + " ".join(f"{n:>10}" for n in TRACE_NAMES))
        layer = 0
        while os.path.exists(os.path.join(ours, f"l_out-{layer}.bin")):
            cells = []
            for n in TRACE_NAMES:
                a = np.fromfile(os.path.join(ours, f"{n}-{layer}.bin"), dtype=np.float32)
                p = os.path.join(theirs, f"{n}-{layer}.bin")
                b = np.fromfile(p, dtype=np.float32) if os.path.exists(p) else np.zeros(0, np.float32)
                if b.size and a.size > b.size and a.size % b.size == 0:
                    a = a[-b.size:]  # llama.cpp computes the last layer's tail for the last token only
                cells.append(f"{np.abs(a - b).max() / max(np.abs(b).max(), 1e-30):10.1e}" if a.size == b.size else f"{'-':>10}")
            print(f"{layer:>5}  " + " ".join(cells))
            layer += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--sizes", default="15M,110M")
    ap.add_argument("--types", default="F16,Q8_0,Q4_0,Q4_K")
    ap.add_argument("--pp", type=int, default=512, help="prompt tokens of the prompt-processing test")
    ap.add_argument("--tg", type=int, default=128, help="tokens of the generation test")
    ap.add_argument("--json", default=os.path.join(CACHE, "engine_bench.json"))
    ap.add_argument("--agreement-only", action="store_true", help="skip the speed table")
    ap.add_argument("--speed-only", action="store_true",
                    help="skip the greedy agreement check (it runs F16 and Q8_0 files on 1 thread: minutes at 3B)")
    ap.add_argument("--trace", metavar="MODEL", help="compare both engines' intermediate results on MODEL, "
                    "layer by layer, for the agreement prompt (where do they part?), and exit")
    ap.add_argument("--trace-prompt", default="1,450,1200,37,9000,15,600,2200")
    ap.add_argument("--trained", default=os.path.join(ROOT, "out", "demo", "model.gguf"),
                    help="a trained model for the agreement check (skipped when absent)")
    ap.add_argument("--avx2", action="store_true",
                    help="both engines on AVX2 only, as on a CPU without AVX-512: llama.cpp built with "
                    "GGML_NATIVE=OFF GGML_AVX2=ON and no AVX-512/AVX-VNNI (bench/llama_cpp_setup.sh --avx2), "
                    "Fragua with FRAGUA_SIMD=avx2")
    a = ap.parse_args()
    global FRAGUA_ENV
    if a.avx2:
        FRAGUA_ENV = dict(os.environ, FRAGUA_SIMD="avx2")
    for exe in (FRAGUA, FBENCH):
        if not os.path.exists(exe):
            sys.exit(f"{exe} is missing: cmake --preset release && cmake --build --preset release")
    llama_bin = subprocess.check_output([os.path.join(ROOT, "bench", "llama_cpp_setup.sh")]).decode().strip()
    if a.avx2:  # the models and the agreement peer come from the native build; the speed rows from this one
        llama_speed_bin = subprocess.check_output([os.path.join(ROOT, "bench", "llama_cpp_setup.sh"), "--avx2"]).decode().strip()
    else:
        llama_speed_bin = llama_bin
    if a.trace:
        return trace(llama_bin, a.trace, a.trace_prompt)
    sizes, types = a.sizes.split(","), a.types.split(",")
    threads = [int(t) for t in a.threads.split(",")]
    models = make_models(llama_bin, sizes, types)
    rows = []
    bw = {} if a.agreement_only else dram_bandwidth(threads)
    print(f"CPU: {cpu_description()}" + ("; both engines limited to AVX2 (--avx2)" if a.avx2 else ""))
    print("DRAM read bandwidth (bench/membw.cpp, 1 GiB): " +
          ", ".join(f"{th} thread{'s' if th > 1 else ''} {g:.1f} GB/s" for th, g in sorted(bw.items())))
    print(f"{'model':<14} {'thr':>3} {'test':<6} {'llama.cpp t/s':>14} {'fragua t/s':>11} {'ratio':>6} "
          f"{'llama MB':>9} {'fragua MB':>9} {'mem ratio':>9} {'MB/token':>9} {'llama bw':>8} {'fragua bw':>9}", flush=True)
    for (size, t), path in ([] if a.agreement_only else models.items()):
        per_token = weight_bytes_per_token(path)
        for th in threads:
            for mode, n in (("pp", a.pp), ("tg", a.tg)):
                ls, fs, lm, fm, probes = [], [], [], [], []
                for _ in range(a.reps):  # interleaved: llama.cpp, then Fragua, repeated
                    if mode == "tg":  # the bandwidth in the same minutes: this VM's moves with its neighbours
                        probes.append(dram_bandwidth([th], reps=3)[th])
                    x, m = llama_bench(llama_speed_bin, path, th, mode, n)
                    ls.append(x)
                    lm.append(m)
                    y, m = fragua_bench(path, th, mode, n)
                    fs.append(y)
                    fm.append(m)
                row = dict(model=f"{size} {t}", threads=th, test=f"{mode}{n}", llama=statistics.median(ls),
                           fragua=statistics.median(fs), llama_mb=statistics.median(lm), fragua_mb=statistics.median(fm))
                row["ratio"] = row["fragua"] / row["llama"]
                row["mem_ratio"] = row["fragua_mb"] / row["llama_mb"]
                bw_cells = ""
                if mode == "tg":
                    # Fraction of the bandwidth bound: bytes read per second / bandwidth. The probe runs
                    # before every repetition and the bound is its best reading over the row (the best
                    # the memory did in those minutes; a median would move the bound down with the noise).
                    # An engine above 100% streamed faster than any probe reading: the probe under-read.
                    probes.append(dram_bandwidth([th], reps=3)[th])
                    bound = max(probes)
                    row["weight_mb_per_token"] = per_token / 1e6
                    row["bw_gbps_probes"] = probes
                    row["bw_gbps"] = bound
                    row["llama_gbps"] = row["llama"] * per_token / 1e9
                    row["fragua_gbps"] = row["fragua"] * per_token / 1e9
                    row["llama_bw_fraction"] = row["llama_gbps"] / bound
                    row["fragua_bw_fraction"] = row["fragua_gbps"] / bound
                    bw_cells = (f" {per_token / 1e6:>9.1f} {row['llama_bw_fraction']:>8.0%} "
                                f"{row['fragua_bw_fraction']:>9.0%}  probe {min(probes):.1f}-{bound:.1f} GB/s, "
                                f"streamed {row['llama_gbps']:.1f} / {row['fragua_gbps']:.1f}")
                rows.append(row)
                print(f"{row['model']:<14} {th:>3} {row['test']:<6} {row['llama']:>14.1f} {row['fragua']:>11.1f} "
                      f"{row['ratio']:>6.2f} {row['llama_mb']:>9.1f} {row['fragua_mb']:>9.1f} {row['mem_ratio']:>9.2f}"
                      f"{bw_cells}", flush=True)
    agree = {}
    checks = [(k, v) for k, v in models.items() if k[1] in ("F16", "Q8_0")]
    trained = {} if a.speed_only else trained_models(llama_bin, a.trained)
    if a.speed_only:
        checks = []
    else:
        print("\ngreedy agreement (64 tokens from the same prompt ids, 1 thread):")
    if not trained and not a.speed_only:
        print(f"  (no trained model at {a.trained}: run scripts/quickstart.sh, or pass --trained)")
    for (size, t), path in checks + list(trained.items()):
        r = greedy_agreement(llama_bin, path, prompt="1,450,1200,37,900,15,600,2200" if size == "trained" else
                             "1,450,1200,37,9000,15,600,2200")
        agree[f"{size} {t}"] = r
        print(f"  {size} {t}: {r['identical']}/{r['of']} identical tokens{'' if r['identical'] == r['of'] else '  <-- DIFFERS'}"
              f" (Fragua AVX-512 vs its own AVX2 path: {r['self_identical']}/{r['of']}); first-step logits "
              f"max|diff|/max|logit| {r['first_logits_rel_diff']:.2e}, llama.cpp top-2 margin {r['peer_top2_margin']:.3f} "
              f"({r['peer_top2_margin_rel']:.1%} of max|logit|)")
    with open(a.json, "w") as f:
        json.dump(dict(time=time.time(), cpu=cpu_description(), dram_gbps=bw, rows=rows, agreement=agree), f, indent=1)


if __name__ == "__main__":
    main()
