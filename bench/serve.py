#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`fragua serve` against llama.cpp's llama-server on the same GGUF file (issue 15): generated
tokens/s (aggregate over the concurrent streams) and p50/p99 time to first token, at 1, 4, 16 and
32 concurrent streams.

Both servers get the same slots as there are streams (fragua --parallel N, llama-server -np N), the
same context per slot (llama-server's -c is the total it splits across its slots when the KV cache
is not unified, so it gets -c N*ctx --no-kv-unified), the same threads, and the same requests:
/v1/completions, streamed with stream_options.include_usage, greedy (temperature 0, seed 1), the
same max_tokens. Neither is asked to ignore the end-of-sequence token (fragua's API has no
ignore_eos), so throughput is what each generated over the wall time of the run; the table shows
the generated token counts, which match when neither stopped early (the bench models have random
weights: an end token is rare). Prompts are slices of bench/text/ in es, ca, eu and gl of mixed
lengths (40 to 320 characters), a different slice per request, the same sequence for
both engines. Each of N client threads sends its requests one after another (closed loop).
Time to first token: from sending the request to the first event that carries text.

Runs are interleaved: for each stream count and repeat, fragua then llama-server, in the other
order on odd repeats; each run starts its server afresh. Throughput: the median over repeats; time
to first token: p50/p99 over every request of every repeat. Ratios are fragua / llama-server
(throughput: higher is better; time to first token: lower is better).

Usage:
  bench/serve.py [--model PATH | --size 0.9B --type Q4_K] [--streams 1,4,16,32] [--reps 3]
                 [--ctx 1024] [--max-tokens 64] [--requests 2] [--lengths 40,80,160,320]
                 [--threads N] [--json out.json]
  bench/serve.py --quick        a smoke run: the 15M F16 model, streams 1 and 4, one repeat
Models: ~/.cache/fragua-bench/models/llama-<size>-<type>.gguf, written by bench/engine.py (its
Q4_K is llama-quantize's Q4_K_M mix). Needs the release build (build/release/fragua, or $FRAGUA)
and llama-server from bench/llama_cpp_setup.sh (run automatically). Standard library only.
"""
import argparse
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fragua_bench import ROOT, fragua_bin  # noqa: E402

CACHE = os.environ.get("FRAGUA_BENCH_CACHE", os.path.expanduser("~/.cache/fragua-bench"))
LANGS = ("es", "ca", "eu", "gl")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def llama_server_bin():
    if os.environ.get("LLAMA_SERVER"):
        return os.environ["LLAMA_SERVER"]
    out = subprocess.run([os.path.join(ROOT, "bench", "llama_cpp_setup.sh")], check=True, stdout=subprocess.PIPE,
                         text=True).stdout.strip().splitlines()[-1]
    return os.path.join(out, "llama-server")


def prompts(n, lengths, seed=15):
    """n prompts: slices of the held-out stories that start at a sentence, of one of `lengths`
    characters (default 40, 80, 160 or 320: a question to a paragraph), languages in turn. The bench models' random vocabulary
    spends about 1.3 tokens per character (mostly byte pieces): 50 to 420 prompt tokens; a trained
    model's tokenizer spends a quarter of that."""
    sentences = {}
    for lang in LANGS:
        with open(os.path.join(ROOT, "bench", "text", lang + ".txt"), encoding="utf-8") as f:
            text = " ".join(f.read().split())
        sentences[lang] = [s for s in re.split(r"(?<=[.!?])\s+", text) if s]
    rng = random.Random(seed)
    out = []
    for i in range(n):
        s = sentences[LANGS[i % len(LANGS)]]
        start = rng.randrange(len(s))
        out.append(" ".join(s[start:] + s[:start])[:rng.choice(lengths)])
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """One server on 127.0.0.1, started and waited for (GET /health 200), stopped on exit."""

    def __init__(self, engine, model, slots, ctx, threads, log_dir):
        self.engine, self.port = engine, free_port()
        if engine == "fragua":
            cmd = [fragua_bin("serve.py"), "serve", model, "--port", str(self.port), "--parallel", str(slots),
                   "--ctx", str(ctx), "--threads", str(threads), "--max-queue", "1024", "--timeout", "0"]
        else:
            cmd = [llama_server_bin(), "-m", model, "--host", "127.0.0.1", "--port", str(self.port), "-np", str(slots),
                   "-c", str(slots * ctx), "--no-kv-unified", "-t", str(threads), "-tb", str(threads)]
        self.log = open(os.path.join(log_dir, "%s-%d.log" % (engine, slots)), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 300
        while time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit("serve.py: %s exited with %d at start (log: %s)" % (engine, self.proc.returncode, self.log.name))
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        sys.exit("serve.py: %s was not ready within 300 s" % engine)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def stream_completion(port, prompt, max_tokens):
    """One streamed /v1/completions request: (seconds to the first text, seconds in all, generated
    tokens, prompt tokens, whether it ended with [DONE]). Without the usage chunk (a stream cut
    short) the generated tokens are the events with text."""
    body = json.dumps({"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "seed": 1, "stream": True,
                       "stream_options": {"include_usage": True}})
    t0 = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        raise RuntimeError("status %d: %s" % (r.status, r.read()[:300]))
    ttft, chunks, usage, done = None, 0, None, False
    while True:
        line = r.readline()
        if not line:
            break
        line = line.strip()
        if not line.startswith(b"data: "):
            continue
        payload = line[6:]
        if payload == b"[DONE]":
            done = True
            break
        ev = json.loads(payload)
        if ev.get("usage"):
            usage = ev["usage"]
        for ch in ev.get("choices") or []:
            if ch.get("text"):
                chunks += 1
                if ttft is None:
                    ttft = time.perf_counter() - t0
    total = time.perf_counter() - t0
    c.close()
    generated = usage["completion_tokens"] if usage else chunks
    return (ttft if ttft is not None else total), total, generated, (usage or {}).get("prompt_tokens", 0), done


def run_load(port, streams, per_stream, work, max_tokens):
    """`streams` client threads, each sending its share of `work` in turn; returns (wall seconds,
    results)."""
    results, errors = [], []
    lock = threading.Lock()

    def client(i):
        for k in range(per_stream):
            try:
                res = stream_completion(port, work[i * per_stream + k], max_tokens)
            except Exception as e:  # reported after the run
                with lock:
                    errors.append(repr(e))
                continue
            with lock:
                results.append(res)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(streams)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        sys.exit("serve.py: %d requests failed, first: %s" % (len(errors), errors[0]))
    return wall, results


def percentile(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="GGUF file (default: the bench model of --size and --type)")
    ap.add_argument("--size", default="0.9B")
    ap.add_argument("--type", default="Q4_K")
    ap.add_argument("--streams", default="1,4,16,32")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ctx", type=int, default=1024, help="context per slot")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--requests", type=int, default=2, help="requests per stream and run")
    ap.add_argument("--lengths", default="40,80,160,320", help="prompt lengths in characters, drawn uniformly")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--engines", default="fragua,llama-server")
    ap.add_argument("--json", help="write the rows here")
    ap.add_argument("--quick", action="store_true", help="smoke run: 15M F16, streams 1,4, one repeat")
    a = ap.parse_args()
    if a.quick:
        a.size, a.type, a.streams, a.reps, a.max_tokens, a.requests = "15M", "F16", "1,4", 1, 16, 2
    model = a.model or os.path.join(CACHE, "models", "llama-%s-%s.gguf" % (a.size, a.type))
    if not os.path.exists(model):
        sys.exit("serve.py: %s is missing: bench/engine.py --sizes %s --types %s writes it" % (model, a.size, a.type))
    engines = a.engines.split(",")
    streams = [int(x) for x in a.streams.split(",")]
    log_dir = os.path.join(CACHE, "serve-logs")
    os.makedirs(log_dir, exist_ok=True)
    print("CPU: %s, %d threads; model %s; context %d per slot; max_tokens %d; %d requests per stream; %d repeats; "
          "prompts of %s characters" % (cpu_model(), a.threads, os.path.basename(model), a.ctx, a.max_tokens, a.requests,
                                        a.reps, a.lengths), flush=True)
    print("fragua: %s" % fragua_bin("serve.py"), flush=True)

    rows = []
    for n in streams:
        work = prompts(n * a.requests, [int(x) for x in a.lengths.split(",")], seed=15 + n)
        got = {e: {"tps": [], "ttft": [], "gen": 0, "prompt": 0, "cut": 0} for e in engines}
        for rep in range(a.reps):
            order = engines if rep % 2 == 0 else engines[::-1]
            for e in order:
                srv = ServerProcess(e, model, n, a.ctx, a.threads, log_dir)
                try:
                    stream_completion(srv.port, "Hola", 4)  # warm-up
                    wall, res = run_load(srv.port, n, a.requests, work, a.max_tokens)
                finally:
                    srv.stop()
                gen = sum(r[2] for r in res)
                got[e]["tps"].append(gen / wall)
                got[e]["ttft"] += [r[0] for r in res]
                got[e]["gen"] += gen
                got[e]["prompt"] += sum(r[3] for r in res)
                got[e]["cut"] += sum(1 for r in res if not r[4])
                print("  streams %2d rep %d %-12s %7.1f tok/s  (%d tokens in %.1f s)" % (n, rep, e, gen / wall, gen, wall),
                      flush=True)
        row = {"streams": n}
        for e in engines:
            g = got[e]
            row[e] = {"tokens_per_s": statistics.median(g["tps"]), "ttft_p50_ms": 1e3 * percentile(g["ttft"], 0.5),
                      "ttft_p99_ms": 1e3 * percentile(g["ttft"], 0.99), "generated": g["gen"],
                      "prompt_tokens": g["prompt"], "streams_cut_short": g["cut"]}
        rows.append(row)

    print()
    print("| streams | engine | generated tok/s | TTFT p50 ms | TTFT p99 ms | tokens generated | prompt tokens | "
          "streams without [DONE] |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        for e in engines:
            r = row[e]
            print("| %d | %s | %.1f | %.0f | %.0f | %d | %d | %d |" % (
                row["streams"], e, r["tokens_per_s"], r["ttft_p50_ms"], r["ttft_p99_ms"], r["generated"],
                r["prompt_tokens"], r["streams_cut_short"]))
    if set(engines) == {"fragua", "llama-server"}:
        print()
        print("| streams | throughput fragua/llama-server | TTFT p50 ratio | TTFT p99 ratio |")
        print("|---|---|---|---|")
        for row in rows:
            f, l = row["fragua"], row["llama-server"]
            print("| %d | %.2f | %.2f | %.2f |" % (row["streams"], f["tokens_per_s"] / l["tokens_per_s"],
                                                 f["ttft_p50_ms"] / l["ttft_p50_ms"], f["ttft_p99_ms"] / l["ttft_p99_ms"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"cpu": cpu_model(), "model": model, "args": vars(a), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
