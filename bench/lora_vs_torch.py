#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""LoRA fine-tuning throughput: `fragua finetune --lora` vs PyTorch (Debian python3-torch) with a
LoRA written by hand here, same model, rank, targets, batch, sequence and threads.

The model is a random llama GGUF (`fragua dev random-model`, --plain-init); the data are synthetic
chat conversations (SFT JSONL) long enough to fill every row. fragua's figure is the median of
`step_s` over the steps of metrics.jsonl after the first (warm-up), tokens = batch x seq_len
per step. PyTorch runs the same Llama (RMSNorm, RoPE on adjacent pairs, GQA, SwiGLU) in float32
with the base weights frozen (requires_grad False) and y = x W^T + (alpha/r) (x A^T) B^T on the
targeted projections, AdamW on A and B only, on the same number of positions per step.
With --dropout P both sides apply LoRA dropout on the adapter's input (fragua --lora-dropout P,
its unmerged path; PyTorch F.dropout on x in the branch), to measure what dropout costs.
The runs alternate, fragua then PyTorch, --reps times per size (so that a change in the machine's
load hits both alike); the table gives each side's median over the repetitions and their ratio,
and each repetition's figures are printed to stderr.
Usage: bench/lora_vs_torch.py [--threads 2] [--sizes 5M,30M] [--rank 16] [--steps 6] [--seq 256] [--batch 4]
                              [--reps 3] [--dropout 0]
Run it on a quiet machine with build/release (cmake --preset release; the fragua target).
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# bench/tokenize.py would shadow the standard library's tokenize, which torch imports.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.join(ROOT, "bench")]
SIZES = {
    "1M": dict(n_embd=128, n_layer=2, n_head=4, n_vocab=512),
    "5M": dict(n_embd=256, n_layer=4, n_head=4, n_vocab=4096),
    "30M": dict(n_embd=512, n_layer=8, n_head=8, n_vocab=8192),
}
TARGETS = {"q": "wq", "k": "wk", "v": "wv", "o": "wo", "gate": "wg", "up": "wu", "down": "wd"}


def n_ff(c):
    return (8 * c["n_embd"] // 3 + 31) // 32 * 32


def write_data(path, n_conv, words):
    vocab = ["el", "la", "de", "que", "y", "en", "una", "por", "con", "para", "capital", "ciudad", "Zaragoza",
             "Aragón", "registro", "ayuntamiento", "certificado", "plazo", "formulario", "oficina"]
    x = 1234
    with open(path, "w") as f:
        for i in range(n_conv):
            out = []
            for _ in range(words):
                x = (x * 6364136223846793005 + 1442695040888963407) % 2 ** 64
                out.append(vocab[(x >> 33) % len(vocab)])
            f.write(json.dumps({"messages": [{"role": "user", "content": " ".join(out[:words // 4])},
                                             {"role": "assistant", "content": " ".join(out[words // 4:])}]}) + "\n")


def prepare_fragua(fragua, c, args, work):
    model = os.path.join(work, "model.gguf")
    subprocess.run([fragua, "dev", "random-model", model, "--vocab", str(c["n_vocab"]), "--embd", str(c["n_embd"]),
                    "--layers", str(c["n_layer"]), "--heads", str(c["n_head"]), "--kv-heads", str(c["n_head"]),
                    "--ff", str(n_ff(c)), "--ctx", str(args.seq), "--plain-init"], check=True)
    data = os.path.join(work, "sft.jsonl")
    # Conversations of seq/8 words (the random model's vocabulary spends a few tokens a word), packed
    # into rows of seq tokens: every row has assistant tokens to learn, as in PyTorch's full loss.
    write_data(data, 256, args.seq // 8)


def run_fragua(fragua, args, work, rep):
    model, data = os.path.join(work, "model.gguf"), os.path.join(work, "sft.jsonl")
    run = os.path.join(work, f"run{rep}")
    subprocess.run([fragua, "finetune", model, "--data", data, "-o", run, "--lora", "--lora-rank", str(args.rank),
                    "--lora-alpha", str(2 * args.rank), "--lora-targets", args.targets, "--steps", str(args.steps),
                    "--seq-len", str(args.seq), "--batch", str(args.batch), "--threads", str(args.threads),
                    "--lora-dropout", str(args.dropout), "--lr", "1e-4", "--chat-template", "chatml"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    steps = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl")) if '"step_s"' in l]
    times = [s["step_s"] for s in steps[1:]]
    return args.batch * args.seq / statistics.median(times)


def run_torch(c, args):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    C, L, H, V = c["n_embd"], c["n_layer"], c["n_head"], c["n_vocab"]
    hd, FF, T, B, r = C // H, n_ff(c), args.seq, args.batch, args.rank
    s = 2.0 * r / r  # alpha = 2 r
    targets = args.targets.split(",") if args.targets != "all" else list(TARGETS)

    def frozen(*shape):
        return torch.randn(*shape) * 0.02

    layers = []
    params = []
    for _ in range(L):
        lw = dict(n1=torch.ones(C), n2=torch.ones(C), wq=frozen(C, C), wk=frozen(C, C), wv=frozen(C, C),
                  wo=frozen(C, C), wg=frozen(FF, C), wu=frozen(FF, C), wd=frozen(C, FF))
        for t in targets:
            w = lw[TARGETS[t]]
            a = (torch.rand(r, w.shape[1]) * 2 - 1) / math.sqrt(w.shape[1])
            b = torch.zeros(w.shape[0], r)
            a.requires_grad_(True)
            b.requires_grad_(True)
            lw[TARGETS[t] + "_a"], lw[TARGETS[t] + "_b"] = a, b
            params += [a, b]
        layers.append(lw)
    emb, out, nf = frozen(V, C), frozen(V, C), torch.ones(C)
    theta = 10000.0 ** (-torch.arange(0, hd, 2, dtype=torch.float32) / hd)
    ang = torch.outer(torch.arange(T, dtype=torch.float32), theta)
    cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]
    mask = torch.triu(torch.full((T, T), float("-inf")), 1)

    def lin(lw, k, x):
        y = x @ lw[k].T
        if k + "_a" in lw:
            xd = F.dropout(x, args.dropout) if args.dropout > 0 else x
            y = y + s * ((xd @ lw[k + "_a"].T) @ lw[k + "_b"].T)
        return y

    def rope(x):
        x = x.view(B, T, -1, hd // 2, 2)
        x0, x1 = x[..., 0], x[..., 1]
        return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), -1).view(B, T, -1, hd)

    def norm(x, w):
        return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + 1e-5) * w

    def step(tok, tgt):
        x = emb[tok]
        for lw in layers:
            h = norm(x, lw["n1"])
            q = rope(lin(lw, "wq", h).view(B, T, H, hd)).transpose(1, 2)
            k = rope(lin(lw, "wk", h).view(B, T, H, hd)).transpose(1, 2)
            v = lin(lw, "wv", h).view(B, T, H, hd).transpose(1, 2)
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, -1)
            x = x + lin(lw, "wo", (att @ v).transpose(1, 2).reshape(B, T, C))
            h = norm(x, lw["n2"])
            x = x + lin(lw, "wd", F.silu(lin(lw, "wg", h)) * lin(lw, "wu", h))
        logits = norm(x, nf) @ out.T
        return F.cross_entropy(logits.view(B * T, V), tgt.view(-1))

    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
    times = []
    for i in range(args.steps):
        tok = torch.randint(0, V, (B, T))
        tgt = torch.randint(0, V, (B, T))
        t0 = time.perf_counter()
        opt.zero_grad()
        step(tok, tgt).backward()
        opt.step()
        if i > 0:
            times.append(time.perf_counter() - t0)
    return B * T / statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fragua", default=os.path.join(ROOT, "build/release/fragua"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sizes", default="5M,30M")
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--targets", default="all")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--reps", type=int, default=3, help="alternating repetitions per size")
    ap.add_argument("--dropout", type=float, default=0.0, help="LoRA dropout on both sides")
    args = ap.parse_args()
    try:
        import torch  # noqa: F401
    except ImportError:
        sys.exit("skipped: python3-torch is not installed (run with /usr/bin/python3)")
    print("| size | rank | targets | dropout | threads | reps | fragua tok/s (median) | PyTorch tok/s (median) | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.sizes.split(","):
        c = SIZES[name]
        frs, pts = [], []
        with tempfile.TemporaryDirectory() as work:
            prepare_fragua(args.fragua, c, args, work)
            for rep in range(args.reps):
                frs.append(run_fragua(args.fragua, args, work, rep))
                pts.append(run_torch(c, args))
                print(f"{name} rep {rep + 1}: fragua {frs[-1]:.0f} tok/s, PyTorch {pts[-1]:.0f} tok/s",
                      file=sys.stderr, flush=True)
        fr, pt = statistics.median(frs), statistics.median(pts)
        print(f"| {name} | {args.rank} | {args.targets} | {args.dropout:g} | {args.threads} | {args.reps} | {fr:.0f} | "
              f"{pt:.0f} | {fr / pt:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
