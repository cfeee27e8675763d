#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Granite 4 architectures, Fragua vs llama.cpp: random granitemoe (Granite 3.x MoE) and
granitehybrid (Granite 4.0-H: Mamba-2 + attention + MoE) models written by
`fragua dev random-model`, loaded by llama.cpp (the proof that the GGUF layout and keys are
llama.cpp's), greedy continuations compared token for token on F16 and Q8_0 files (Q8_0 from
llama-quantize, so Fragua also reads llama.cpp's quantized expert tensors), then prompt (pp) and
generation (tg) tokens/s side by side with llama-bench.

Usage: bench/granite4.py [--sizes tiny,small] [--types F16,Q8_0] [--threads 2] [--reps 3]
                         [--pp 512] [--tg 128] [--agreement-only] [--explain] [--simd-check]
                         [--ssm-chunk-ab 64,128]
Sizes: tiny (embd 64, 4 layers: the test shapes, for agreement), small (embd 1024, 16 layers,
32 experts of 512 with 6 used and a shared expert of 1024; the hybrid with Mamba-2 heads of 64,
state 128 and every fourth layer attention without RoPE, as Granite 4.0-H-Tiny is shaped).
--ssm-chunk-ab: instead of the comparison, Fragua's prompt speed on the granitehybrid files with
the Mamba-2 scan in its recurrent form (the default) and in its chunked form (FRAGUA_SSM_CHUNK=N
for each N given), interleaved, medians (release build; llama.cpp is not run).
Agreement uses `fragua generate --temp 0` (any build); speed needs the release build
(bench_engine_bench) and bench/llama_cpp_setup.sh's llama.cpp (run automatically unless $LLAMA_BIN
names its bin/ folder)."""
import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import engine  # noqa: E402  (llama_bench, fragua_bench, CACHE; re-executes under /usr/bin/python3 for numpy)
from fragua_bench import fragua_bin  # noqa: E402

COMMON = {"tiny": ["--embd", "64", "--layers", "4", "--heads", "4", "--kv-heads", "2", "--ff", "128",
                   "--vocab", "512", "--ctx", "1024"],
          "small": ["--embd", "1024", "--layers", "16", "--heads", "16", "--kv-heads", "4", "--ff", "512",
                    "--vocab", "32000", "--ctx", "4096", "--plain-init"]}
ARCHS = {
    "granitemoe": {"tiny": ["--experts", "4", "--experts-used", "2", "--shared-ff", "96"],
                   "small": ["--experts", "32", "--experts-used", "6", "--shared-ff", "1024"]},
    "granitehybrid": {"tiny": ["--experts", "4", "--experts-used", "2", "--shared-ff", "96", "--no-rope"],
                      "small": ["--experts", "32", "--experts-used", "6", "--shared-ff", "1024", "--no-rope",
                                "--ssm-heads", "32", "--ssm-state", "128"]},
}
PROMPT = "1,450,120,37,90,15,60,220"


def make_model(fragua, llama_bin, arch, size, dtype):
    d = os.path.join(engine.CACHE, "models")
    os.makedirs(d, exist_ok=True)
    f16 = os.path.join(d, f"{arch}-{size}-F16.gguf")
    if not os.path.exists(f16):
        subprocess.check_call([fragua, "dev", "random-model", f16, "--arch", arch, "--dtype", "f16", "--seed", "7"] +
                              COMMON[size] + ARCHS[arch][size])
    if dtype == "F16":
        return f16
    path = os.path.join(d, f"{arch}-{size}-{dtype}.gguf")
    if not os.path.exists(path):
        subprocess.check_call([os.path.join(llama_bin, "llama-quantize"), f16, path, dtype],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path


def fragua_greedy(fragua, model, n, env=None):
    return subprocess.check_output([fragua, "generate", model, "--prompt-ids", PROMPT, "-n", str(n), "--temp", "0",
                                    "--threads", "1"], stderr=subprocess.DEVNULL, env=env).decode().split()


def simd_levels_agree(fragua, model, n):
    """Fragua's greedy tokens under FRAGUA_SIMD=scalar, avx2 and avx512 (a level the CPU lacks
    falls back to the best one): the engine promises the same bits on every level."""
    runs = {lv: fragua_greedy(fragua, model, n, dict(os.environ, FRAGUA_SIMD=lv)) for lv in ("scalar", "avx2", "avx512")}
    return all(r == runs["avx512"] for r in runs.values())


def greedy(fragua, llama_bin, model, n, full=False):
    ours = fragua_greedy(fragua, model, n)
    theirs = subprocess.check_output([os.path.join(llama_bin, "llama-simple-ids"), model, str(n), PROMPT],
                                     stderr=subprocess.DEVNULL).decode().strip().split(",")
    # fragua generate stops at an end-of-generation token; llama-simple-ids runs on.
    same = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
    return (same, len(ours), theirs) if full else (same, len(ours))


def explain(llama_bin, model, theirs, k):
    """Where the greedy continuations part at step k: both engines given the prompt and the k
    tokens they agreed on as one prompt batch (needs the release build's bench_engine_bench).
    Prints each engine's pick there, the peer's margin between its top two logits, the largest
    logit difference between the engines, and the peer's own pick when it decoded token by token
    (theirs[k]): when the peer's batch pick differs from its step pick, the step is a near-tie
    that even one engine resolves both ways."""
    import numpy as np
    prompt = PROMPT + "".join("," + t for t in theirs[:k])
    ours, la = engine.greedy_ids([engine.FBENCH, model, "1", "greedy", "1", prompt], {})
    peer, lb = engine.greedy_ids([os.path.join(llama_bin, "llama-simple-ids"), model, "1", prompt], {})
    top = np.sort(lb)[::-1]
    print(f"  step {k}: Fragua {ours[0]}, llama.cpp {peer[0]} as a prompt batch and {theirs[k]} token by token; "
          f"llama.cpp's top-2 margin {top[0] - top[1]:.3g} ({(top[0] - top[1]) / np.abs(lb).max():.2%} of its largest "
          f"logit), max |Fragua - llama.cpp| {np.abs(la - lb).max():.3g} "
          f"({np.abs(la - lb).max() / np.abs(lb).max():.2%})", flush=True)


def ssm_chunk_ab(a):
    """pp of the existing granitehybrid files (make them with a normal run first), the recurrent
    scan against each chunk length, runs interleaved so that a noisy machine hurts all alike."""
    if not os.path.exists(engine.FBENCH):
        sys.exit(f"needs the release build's {engine.FBENCH}")
    chunks = ["0"] + a.ssm_chunk_ab.split(",")
    print("| model | type | threads | scan | pp t/s (median) |")
    print("|---|---|---|---|---|")
    for size in a.sizes.split(","):
        for t in a.types.split(","):
            m = os.path.join(engine.CACHE, "models", f"granitehybrid-{size}-{t}.gguf")
            if not os.path.exists(m):
                sys.exit(f"{m} is missing: run bench/granite4.py --sizes {size} --types {t} --agreement-only first")
            for th in (int(x) for x in a.threads.split(",")):
                tps = {c: [] for c in chunks}
                for _ in range(a.reps):
                    for c in chunks:
                        env = dict(os.environ)
                        env.pop("FRAGUA_SSM_CHUNK", None)
                        if c != "0":
                            env["FRAGUA_SSM_CHUNK"] = c
                        engine.FRAGUA_ENV = env
                        tps[c].append(engine.fragua_bench(m, th, "pp", a.pp)[0])
                engine.FRAGUA_ENV = None
                for c in chunks:
                    scan = "recurrent" if c == "0" else f"chunked, {c}"
                    print(f"| granitehybrid-{size} | {t} | {th} | {scan} | {statistics.median(tps[c]):.1f} |", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="tiny,small")
    ap.add_argument("--types", default="F16,Q8_0")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--pp", type=int, default=512)
    ap.add_argument("--tg", type=int, default=128)
    ap.add_argument("--n-agree", type=int, default=64)
    ap.add_argument("--agreement-only", action="store_true")
    ap.add_argument("--explain", action="store_true", help="where continuations part, compare both engines' logits "
                    "there (release build)")
    ap.add_argument("--simd-check", action="store_true", help="also Fragua's greedy tokens under FRAGUA_SIMD="
                    "scalar, avx2 and avx512 (the scalar level is slow on the small files)")
    ap.add_argument("--ssm-chunk-ab", metavar="N,...", help="pp of the granitehybrid files, recurrent scan vs "
                    "FRAGUA_SSM_CHUNK=N (release build)")
    a = ap.parse_args()
    if a.ssm_chunk_ab:
        return ssm_chunk_ab(a)
    fragua = fragua_bin("granite4.py")
    llama_bin = os.environ.get("LLAMA_BIN") or subprocess.check_output(
        [os.path.join(HERE, "llama_cpp_setup.sh")]).decode().strip()
    print(f"fragua: {fragua}\nllama.cpp: {llama_bin}")
    print("| model | type | greedy tokens identical |" + (" same tokens on every SIMD level |" if a.simd_check else ""))
    print("|---|---|---|" + ("---|" if a.simd_check else ""))
    models = []
    for size in a.sizes.split(","):
        for arch in ARCHS:
            for t in a.types.split(","):
                m = make_model(fragua, llama_bin, arch, size, t)
                models.append((arch, size, t, m))
                same, of, theirs = greedy(fragua, llama_bin, m, a.n_agree, full=True)
                levels = (" | " + ("yes" if simd_levels_agree(fragua, m, a.n_agree) else "NO")) if a.simd_check else ""
                print(f"| {arch}-{size} | {t} | {same}/{of}{levels} |", flush=True)
                if a.explain and same < of:
                    explain(llama_bin, m, theirs, same)
    if a.agreement_only:
        return
    if not os.path.exists(engine.FBENCH):
        sys.exit(f"speed needs the release build's {engine.FBENCH}")
    print("\n| model | type | threads | mode | fragua t/s | llama.cpp t/s | ratio |")
    print("|---|---|---|---|---|---|---|")
    for arch, size, t, m in models:
        if size == "tiny":
            continue
        for th in (int(x) for x in a.threads.split(",")):
            for mode, n in (("pp", a.pp), ("tg", a.tg)):
                ours, theirs = [], []
                for _ in range(a.reps):  # interleaved, as bench/engine.py runs them
                    ours.append(engine.fragua_bench(m, th, mode, n)[0])
                    theirs.append(engine.llama_bench(llama_bin, m, th, mode, n)[0])
                f, l = statistics.median(ours), statistics.median(theirs)
                print(f"| {arch}-{size} | {t} | {th} | {mode}{n} | {f:.1f} | {l:.1f} | {f / l:.2f} |", flush=True)


if __name__ == "__main__":
    main()
