#!/usr/bin/python3
"""Training throughput: fragua vs PyTorch (Debian python3-torch), F32, same model, same threads.

For each size (~5M and ~30M parameters, sequence 256) it alternates runs of
build/release/bench_train_step and of the same Llama model written here in PyTorch (forward,
backward, AdamW step on random tokens), `--reps` times, and prints medians, the ratio
fragua/PyTorch, and fragua's achieved FLOP/s as a fraction of the OpenBLAS SGEMM peak measured
in the same run. Usage: bench/train_vs_torch.py [--threads 2] [--reps 3] [--steps 3]
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
}


def torch_run(cfg, batch, seq, steps, threads):
    """Runs in a child process so thread settings and memory start fresh."""
    code = f"""
import json, math, time, torch
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
    loss = m(idx, tgt); loss.backward(); opt.step()
dt = time.perf_counter() - t0
print(json.dumps(dict(impl="torch", params=sum(p.numel() for p in m.parameters()), tokens_per_s=B * T * {steps} / dt)))
"""
    out = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def fragua_run(cfg, batch, seq, steps, threads, exe):
    args = [exe, "--n-embd", str(cfg["n_embd"]), "--n-layer", str(cfg["n_layer"]), "--n-head", str(cfg["n_head"]),
            "--n-vocab", str(cfg["n_vocab"]), "--batch", str(batch), "--seq", str(seq), "--steps", str(steps),
            "--threads", str(threads)]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--sizes", default="5M,30M")
    ap.add_argument("--exe", default=os.path.join(ROOT, "build/release/bench_train_step"))
    a = ap.parse_args()
    if not os.path.exists(a.exe):
        sys.exit(f"{a.exe} is missing: cmake --preset release && cmake --build --preset release --target bench_train_step")
    print(f"# train tokens/s, F32, {a.threads} threads, batch {a.batch} x seq {a.seq}, {a.steps} timed steps, "
          f"{a.reps} interleaved reps, medians; load average {os.getloadavg()[0]:.1f}")
    print("| model | params | fragua tok/s | PyTorch tok/s | ratio | fragua GFLOP/s | SGEMM peak GFLOP/s | fraction of peak |")
    print("|---|---|---|---|---|---|---|---|")
    for name in a.sizes.split(","):
        cfg = SIZES[name]
        fr, tr = [], []
        for _ in range(a.reps):
            fr.append(fragua_run(cfg, a.batch, a.seq, a.steps, a.threads, a.exe))
            tr.append(torch_run(cfg, a.batch, a.seq, a.steps, a.threads))
        f_tps = statistics.median(r["tokens_per_s"] for r in fr)
        t_tps = statistics.median(r["tokens_per_s"] for r in tr)
        gf = statistics.median(r["gflops"] for r in fr)
        peak = statistics.median(r["sgemm_peak_gflops"] for r in fr)
        print(f"| {name} | {fr[0]['params'] / 1e6:.1f}M | {f_tps:.0f} | {t_tps:.0f} | {f_tps / t_tps:.2f}x | {gf:.1f} | "
              f"{peak:.1f} | {gf / peak:.2f} |", flush=True)


if __name__ == "__main__":
    main()
