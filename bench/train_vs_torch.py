#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Training throughput: fragua vs PyTorch (Debian python3-torch), same model, same threads.

For each size (~5M, ~30M and ~110M parameters, sequence 256) it alternates runs of
build/release/bench_train_step and of the same Llama model written here in PyTorch (forward,
backward, AdamW step on random tokens), `--reps` times, and prints medians: tokens/s, the ratio
fragua/PyTorch, each engine's model GFLOP/s (the same FLOP count for both: 6 per matmul weight
per token plus causal attention) as a fraction of the SGEMM peak that this script measures
(numpy's SGEMM, Debian's OpenBLAS, the same threads, in a child process), and each engine's
peak resident memory (the child's ru_maxrss). `--bf16` adds a row per size: fragua's BF16 mixed
precision (bench_train_step --bf16, as `fragua train --precision bf16`; needs AVX512-BF16) beside
PyTorch under CPU autocast BF16 (docs/train.md).
Usage: bench/train_vs_torch.py [--threads 2] [--reps 3] [--steps 3] [--sizes 5M,30M,100M] [--bf16]
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = {
    "5M": dict(n_embd=256, n_layer=4, n_head=4, n_vocab=4096),
    "30M": dict(n_embd=512, n_layer=8, n_head=8, n_vocab=8192),
    # The size of a useful small model for our languages (GPT-2 small's shape, 16k vocabulary).
    "100M": dict(n_embd=768, n_layer=12, n_head=12, n_vocab=16384),
}


def run_measured(args, env=None):
    """Runs a child; returns its last stdout line as JSON and its peak resident memory in MiB."""
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{args[0]} failed ({p.returncode}): {err[-2000:]}")
    return json.loads(out.strip().splitlines()[-1]), ru.ru_maxrss / 1024.0


def sgemm_peak_gflops(threads, n=2048, reps=5):
    """Best of `reps` n x n x n SGEMMs through numpy (Debian's OpenBLAS) on `threads` threads."""
    code = f"""
import json, time, numpy as np
a = np.random.rand({n}, {n}).astype(np.float32); b = np.random.rand({n}, {n}).astype(np.float32)
a @ b
best = min((lambda t0: (a @ b, time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range({reps}))
print(json.dumps(dict(gflops=2 * {n} ** 3 / best / 1e9)))
"""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    r, _ = run_measured(["/usr/bin/python3", "-c", code], env)
    return r["gflops"]


def flops_per_token(cfg, params, seq):
    """bench_train_step's count: 6 per matmul weight (all but the embedding) + causal attention."""
    return 6.0 * (params - cfg["n_vocab"] * cfg["n_embd"]) + 6.0 * cfg["n_layer"] * seq * cfg["n_embd"]


def torch_run(cfg, batch, seq, steps, threads, bf16=False):
    """Runs in a child process so thread settings and memory start fresh."""
    autocast = "torch.autocast('cpu', dtype=torch.bfloat16)" if bf16 else "contextlib.nullcontext()"
    code = f"""
import contextlib, json, math, time, torch
import torch.nn.functional as F
torch.set_num_threads({threads})
torch.manual_seed(0)
C, L, H, V, T, B = {cfg['n_embd']}, {cfg['n_layer']}, {cfg['n_head']}, {cfg['n_vocab']}, {seq}, {batch}
hd = C // H
Fd = ((8 * C // 3) + 31) // 32 * 32
class RMS(torch.nn.Module):
    def __init__(s): super().__init__(); s.w = torch.nn.Parameter(torch.ones(C))
    def forward(s, x): return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + 1e-5) * s.w
theta = 10000.0 ** (-torch.arange(0, hd, 2).float() / hd)
ang = torch.outer(torch.arange(T).float(), theta)
cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]
def rope(x):
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)
class Block(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.n1, s.n2 = RMS(), RMS()
        s.q, s.k, s.v, s.o = (torch.nn.Linear(C, C, bias=False) for _ in range(4))
        s.g, s.u = torch.nn.Linear(C, Fd, bias=False), torch.nn.Linear(C, Fd, bias=False)
        s.d = torch.nn.Linear(Fd, C, bias=False)
    def forward(s, x):
        h = s.n1(x)
        q, k, v = (m(h).view(B, T, H, hd) for m in (s.q, s.k, s.v))
        q, k = rope(q), rope(k)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        att = att.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float('-inf')).softmax(-1)
        x = x + s.o((att @ v).transpose(1, 2).reshape(B, T, C))
        h = s.n2(x)
        return x + s.d(F.silu(s.g(h)) * s.u(h))
class Model(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.emb = torch.nn.Embedding(V, C)
        s.blocks = torch.nn.ModuleList(Block() for _ in range(L))
        s.norm, s.head = RMS(), torch.nn.Linear(C, V, bias=False)
    def forward(s, idx, tgt):
        x = s.emb(idx)
        for b in s.blocks: x = b(x)
        return F.cross_entropy(s.head(s.norm(x)).view(-1, V), tgt.view(-1))
m = Model()
opt = torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.1)
idx = torch.randint(0, V, (B, T)); tgt = torch.randint(0, V, (B, T))
for s in range({steps} + 1):
    if s == 1: t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    with {autocast}:
        loss = m(idx, tgt)
    loss.backward(); opt.step()
dt = time.perf_counter() - t0
print(json.dumps(dict(impl="torch", params=sum(p.numel() for p in m.parameters()), tokens_per_s=B * T * {steps} / dt)))
"""
    return run_measured(["/usr/bin/python3", "-c", code])


def fragua_run(cfg, batch, seq, steps, threads, exe, bf16=False):
    args = [exe, "--n-embd", str(cfg["n_embd"]), "--n-layer", str(cfg["n_layer"]), "--n-head", str(cfg["n_head"]),
            "--n-vocab", str(cfg["n_vocab"]), "--batch", str(batch), "--seq", str(seq), "--steps", str(steps),
            "--threads", str(threads)] + (["--bf16"] if bf16 else [])
    return run_measured(args)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--sizes", default="5M,30M,100M")
    ap.add_argument("--bf16", action="store_true", help="add BF16 rows: fragua --precision bf16 and PyTorch CPU autocast")
    ap.add_argument("--exe", default=os.path.join(ROOT, "build/release/bench_train_step"))
    a = ap.parse_args()
    if not os.path.exists(a.exe):
        sys.exit(f"{a.exe} is missing: cmake --preset release && cmake --build --preset release --target bench_train_step")
    peak = sgemm_peak_gflops(a.threads)
    print(f"# train tokens/s, {a.threads} threads, batch {a.batch} x seq {a.seq}, {a.steps} timed steps, "
          f"{a.reps} interleaved reps, medians; SGEMM peak {peak:.1f} GFLOP/s (numpy/OpenBLAS, 2048^3); "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| model | precision | params | fragua tok/s | PyTorch tok/s | ratio | fragua GFLOP/s | PyTorch GFLOP/s "
          "| fragua / peak | PyTorch / peak | fragua peak RSS | PyTorch peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in a.sizes.split(","):
        cfg = SIZES[name]
        fr, tr, fm, tm = [], [], [], []
        for _ in range(a.reps):
            r, mem = fragua_run(cfg, a.batch, a.seq, a.steps, a.threads, a.exe)
            fr.append(r), fm.append(mem)
            r, mem = torch_run(cfg, a.batch, a.seq, a.steps, a.threads)
            tr.append(r), tm.append(mem)
        params = tr[0]["params"]
        fpt = flops_per_token(cfg, params, a.seq)
        f_tps = statistics.median(r["tokens_per_s"] for r in fr)
        t_tps = statistics.median(r["tokens_per_s"] for r in tr)
        f_gf, t_gf = fpt * f_tps / 1e9, fpt * t_tps / 1e9
        print(f"| {name} | F32 | {params / 1e6:.1f}M | {f_tps:.0f} | {t_tps:.0f} | {f_tps / t_tps:.2f}x | {f_gf:.1f} | "
              f"{t_gf:.1f} | {f_gf / peak:.2f} | {t_gf / peak:.2f} | {max(fm):.0f} MiB | {max(tm):.0f} MiB |",
              flush=True)
        if a.bf16:
            # fragua --precision bf16 (bench_train_step --bf16, AVX512-BF16) against PyTorch's CPU
            # autocast to bfloat16 on the same model; the fraction is of the F32 SGEMM peak.
            fb, fbm, br, bm = [], [], [], []
            for _ in range(a.reps):
                r, mem = fragua_run(cfg, a.batch, a.seq, a.steps, a.threads, a.exe, bf16=True)
                fb.append(r), fbm.append(mem)
                r, mem = torch_run(cfg, a.batch, a.seq, a.steps, a.threads, bf16=True)
                br.append(r), bm.append(mem)
            fb_tps = statistics.median(r["tokens_per_s"] for r in fb)
            b_tps = statistics.median(r["tokens_per_s"] for r in br)
            fb_gf, b_gf = fpt * fb_tps / 1e9, fpt * b_tps / 1e9
            print(f"| {name} | BF16 (fragua --precision bf16; PyTorch autocast) | {params / 1e6:.1f}M | {fb_tps:.0f} | "
                  f"{b_tps:.0f} | {fb_tps / b_tps:.2f}x | {fb_gf:.1f} | {b_gf:.1f} | {fb_gf / peak:.2f} | "
                  f"{b_gf / peak:.2f} | {max(fbm):.0f} MiB | {max(bm):.0f} MiB |", flush=True)


if __name__ == "__main__":
    main()
