#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A soak of `fragua serve` (issue 15): mixed requests for --duration seconds (default 600) from
--clients threads, against a server this script starts (2 slots, a queue of 4, so that a full
queue happens) or one already running (--url, then memory is not sampled).

The mix: chat and completions, streamed and not, n = 2, stop strings, logprobs, embeddings;
streams the client leaves after the first event; requests the client drops before any answer
(while they may still be queued); and malformed requests: bad JSON, wrong types, unknown fields,
invalid UTF-8, a body over --max-body-bytes, an unknown model, a prompt longer than the context.

Checks, each a failure (exit 1) when broken:
- every request the client waits for gets an answer: the expected status with a well-formed body
  (a success: choices, usage, and a stream of JSON events ending with [DONE]; an error: OpenAI's
  {"error": {"message", "type", "code"}} with the status the kind expects);
- no 5xx but 503 `queue_full` with Retry-After;
- the server never dies; at the end /health is 200, /metrics shows no active slot and an empty
  queue, and SIGTERM ends it with exit status 0;
- resident memory (VmRSS of /proc/<pid>/status, every 2 s) is flat: the median of the last
  minute is within 10% (and at least 32 MiB) of the first minute's; the least-squares slope after
  the first minute is reported in MiB per minute.

Usage: bench/serve_soak.py [--duration 600] [--clients 8] [--model PATH] [--url http://host:port]
Model: default ~/.cache/fragua-bench/models/llama-15M-F16.gguf (bench/engine.py writes it), served
with the ChatML template. Standard library only.
"""
import argparse
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fragua_bench import fragua_bin  # noqa: E402

CACHE = os.environ.get("FRAGUA_BENCH_CACHE", os.path.expanduser("~/.cache/fragua-bench"))
MAX_BODY = 256 * 1024
TEXTS = ["Hola, ¿qué tal?", "Bon dia a tothom.", "Egun on, zer moduz?", "Bos días, como estás?",
         "La ciudad despertó tarde aquel domingo.", "El tren va sortir amb vint minuts de retard."]


class Failure(Exception):
    pass


def is_error_body(body, code=None):
    try:
        j = json.loads(body)
    except ValueError:
        return False
    e = j.get("error") if isinstance(j, dict) else None
    if not isinstance(e, dict) or not all(isinstance(e.get(k), str) for k in ("message", "type", "code")):
        return False
    return code is None or e["code"] == code


class Client:
    def __init__(self, host, port):
        self.host, self.port = host, port

    def conn(self, timeout=120):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def post(self, path, body, headers=None):
        """(status, headers, body bytes) of a whole response."""
        c = self.conn()
        try:
            h = {"Content-Type": "application/json"}
            h.update(headers or {})
            c.request("POST", path, body if isinstance(body, bytes) else json.dumps(body).encode(), h)
            r = c.getresponse()
            return r.status, r, r.read()
        finally:
            c.close()

    def get(self, path):
        c = self.conn(10)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()


def check_answer(kind, status, resp, body, expect):
    """A generation's answer: `expect` as a success, or 503 queue_full with Retry-After."""
    if status == 503:
        if resp.getheader("Retry-After") is None or not is_error_body(body, "queue_full"):
            raise Failure("%s: 503 without Retry-After/queue_full: %r" % (kind, body[:200]))
        return "503"
    if status != 200:
        raise Failure("%s: status %d: %r" % (kind, status, body[:300]))
    j = json.loads(body)
    if "usage" not in j or len(j.get("choices", [])) != expect.get("n", 1):
        raise Failure("%s: malformed answer %r" % (kind, body[:300]))
    for ch in j["choices"]:
        if ch.get("finish_reason") not in ("stop", "length"):
            raise Failure("%s: finish_reason %r" % (kind, ch.get("finish_reason")))
        text = ch["message"]["content"] if "message" in ch else ch["text"]
        for s in expect.get("stop", []):
            if s in text:
                raise Failure("%s: stop string %r in the answer" % (kind, s))
    return "200"


def read_stream(kind, c, r, leave_after_first=False):
    if r.status == 503:
        body = r.read()
        if r.getheader("Retry-After") is None or not is_error_body(body, "queue_full"):
            raise Failure("%s: 503 without Retry-After/queue_full" % kind)
        return "503"
    if r.status != 200:
        raise Failure("%s: status %d: %r" % (kind, r.status, r.read()[:300]))
    events = 0
    while True:
        line = r.readline()
        if not line:
            raise Failure("%s: the stream ended without [DONE] after %d events" % (kind, events))
        line = line.strip()
        if not line:
            continue
        if not line.startswith(b"data: "):
            raise Failure("%s: not an event: %r" % (kind, line[:200]))
        payload = line[6:]
        if payload == b"[DONE]":
            return "200"
        ev = json.loads(payload)
        if "error" in ev:
            raise Failure("%s: error event %r" % (kind, payload[:300]))
        events += 1
        if leave_after_first:
            c.close()  # the client leaves mid-stream
            return "left"


def one_request(cl, kind, rng):
    """Sends one request of `kind`; returns a short outcome label, raises Failure."""
    text = rng.choice(TEXTS)
    mt = rng.choice((1, 4, 16, 48))
    if kind == "chat":
        body = {"messages": [{"role": "system", "content": "Eres breve."}, {"role": "user", "content": text}],
                "max_tokens": mt, "temperature": rng.choice((0, 0.8))}
        s, r, b = cl.post("/v1/chat/completions", body)
        return check_answer(kind, s, r, b, {})
    if kind == "completion":
        s, r, b = cl.post("/v1/completions", {"prompt": text, "max_tokens": mt, "seed": rng.randrange(1 << 30)})
        return check_answer(kind, s, r, b, {})
    if kind == "n2_logprobs":
        s, r, b = cl.post("/v1/completions", {"prompt": text, "max_tokens": mt, "n": 2, "logprobs": 2, "seed": 3})
        return check_answer(kind, s, r, b, {"n": 2})
    if kind == "stop":
        stop = ["a", "e "]
        s, r, b = cl.post("/v1/chat/completions", {"messages": [{"role": "user", "content": text}], "max_tokens": mt,
                                                   "stop": stop})
        return check_answer(kind, s, r, b, {"stop": stop})
    if kind in ("stream_chat", "stream_completion", "stream_leave"):
        chat = kind == "stream_chat" or (kind == "stream_leave" and rng.random() < 0.5)
        path = "/v1/chat/completions" if chat else "/v1/completions"
        body = {"max_tokens": 64 if kind == "stream_leave" else mt, "stream": True,
                "stream_options": {"include_usage": True}}
        body.update({"messages": [{"role": "user", "content": text}]} if chat else {"prompt": text})
        c = cl.conn()
        try:
            c.request("POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"})
            return read_stream(kind, c, c.getresponse(), leave_after_first=kind == "stream_leave")
        finally:
            c.close()
    if kind == "drop":
        # Sent whole, then the connection closes before any answer: queued or running, it must
        # be cancelled without harm.
        data = json.dumps({"prompt": text, "max_tokens": 48}).encode()
        with socket.create_connection((cl.host, cl.port), timeout=10) as sk:
            sk.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       b"Content-Length: %d\r\n\r\n" % len(data) + data)
            time.sleep(rng.choice((0, 0.01, 0.1)))
        return "dropped"
    if kind == "embeddings":
        s, r, b = cl.post("/v1/embeddings", {"input": [text, rng.choice(TEXTS)]})
        if s == 503 and is_error_body(b, "queue_full") and r.getheader("Retry-After"):
            return "503"
        if s != 200:
            raise Failure("embeddings: status %d %r" % (s, b[:200]))
        j = json.loads(b)
        if len(j.get("data", [])) != 2 or not j["data"][0].get("embedding"):
            raise Failure("embeddings: malformed %r" % b[:200])
        return "200"
    # Malformed requests: (body, expected status, expected code or None).
    bad = {
        "bad_json": (b'{"prompt": "Hola", "max_tokens": ', 400, "invalid_json"),
        "wrong_type": (json.dumps({"prompt": "Hola", "max_tokens": "muchos"}).encode(), 400, "invalid_type"),
        "unknown_field": (json.dumps({"prompt": "Hola", "nonsense": 1}).encode(), 400, "unknown_parameter"),
        "invalid_utf8": (b'{"prompt": "Hola \xff\xfe", "max_tokens": 4}', 400, "invalid_utf8"),
        "oversized": (json.dumps({"prompt": "x" * (MAX_BODY + 1024)}).encode(), 413, "request_too_large"),
        "unknown_model": (json.dumps({"prompt": "Hola", "model": "no-such-model"}).encode(), 404, "model_not_found"),
        "too_long": (json.dumps({"prompt": "palabra " * 4000, "max_tokens": 4}).encode(), 400,
                     "context_length_exceeded"),
    }[kind]
    s, r, b = cl.post("/v1/completions", bad[0])
    if s != bad[1] or not is_error_body(b, bad[2]):
        raise Failure("%s: wanted %d %s, got %d %r" % (kind, bad[1], bad[2], s, b[:200]))
    return str(s)


KINDS = {  # weights
    "chat": 6, "completion": 6, "n2_logprobs": 2, "stop": 3, "stream_chat": 5, "stream_completion": 5,
    "stream_leave": 3, "drop": 3, "embeddings": 2, "bad_json": 1, "wrong_type": 1, "unknown_field": 1,
    "invalid_utf8": 1, "oversized": 1, "unknown_model": 1, "too_long": 1,
}


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise Failure("no VmRSS for pid %d" % pid)


def slope_per_min(samples):
    if len(samples) < 3:
        return 0.0
    ts = [t for t, _ in samples]
    vs = [v for _, v in samples]
    mt, mv = statistics.mean(ts), statistics.mean(vs)
    den = sum((t - mt) ** 2 for t in ts)
    return 60.0 * sum((t - mt) * (v - mv) for t, v in samples) / den if den else 0.0


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--model", default=os.path.join(CACHE, "models", "llama-15M-F16.gguf"))
    ap.add_argument("--url", help="a server already running (not started, memory not sampled)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    proc = None
    if a.url:
        u = urllib.parse.urlparse(a.url)
        host, port = u.hostname, u.port or 80
    else:
        if not os.path.exists(a.model):
            sys.exit("serve_soak.py: %s is missing: bench/engine.py --sizes 15M --types F16 writes it" % a.model)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        host = "127.0.0.1"
        log = open(os.path.join("/tmp", "fragua-serve-soak-%d.log" % os.getpid()), "w")
        proc = subprocess.Popen([fragua_bin("serve_soak.py"), "serve", a.model, "--port", str(port), "--parallel", "2",
                                 "--ctx", "1024", "--threads", str(a.threads), "--max-queue", "4", "--template", "chatml",
                                 "--embeddings", "--max-body-bytes", str(MAX_BODY), "--timeout", "120"],
                                stdout=log, stderr=subprocess.STDOUT)
        print("serve_soak: fragua serve pid %d on port %d, log %s" % (proc.pid, port, log.name), flush=True)
    cl = Client(host, port)
    t_ready = time.time() + 300
    while True:
        if proc and proc.poll() is not None:
            sys.exit("serve_soak: the server exited with %d at start" % proc.returncode)
        try:
            if cl.get("/health")[0] == 200:
                break
        except OSError:
            pass
        if time.time() > t_ready:
            sys.exit("serve_soak: the server was not ready within 300 s")
        time.sleep(0.2)

    failures, outcomes, lock = [], {}, threading.Lock()
    stop_at = time.time() + a.duration
    kinds, weights = list(KINDS), list(KINDS.values())

    def client(i):
        rng = random.Random(a.seed * 1000 + i)
        while time.time() < stop_at:
            kind = rng.choices(kinds, weights)[0]
            try:
                out = one_request(cl, kind, rng)
            except Failure as e:
                out = "FAIL"
                with lock:
                    failures.append(str(e))
            except (OSError, http.client.HTTPException, ValueError) as e:
                out = "FAIL"
                with lock:
                    failures.append("%s: %r" % (kind, e))
            with lock:
                outcomes.setdefault(kind, {}).setdefault(out, 0)
                outcomes[kind][out] += 1
            if out == "503":
                time.sleep(rng.uniform(0.2, 1.0))  # as a client told Retry-After would

    rss = []
    t0 = time.time()
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(a.clients)]
    for t in threads:
        t.start()
    next_report = t0 + 60
    while any(t.is_alive() for t in threads):
        if proc:
            if proc.poll() is not None:
                failures.append("the server died with status %d" % proc.returncode)
                break
            rss.append((time.time() - t0, rss_mib(proc.pid)))
        if time.time() >= next_report:
            with lock:
                n = sum(sum(v.values()) for v in outcomes.values())
            print("serve_soak: %3.0f s, %d requests, %d failures%s" % (
                time.time() - t0, n, len(failures), ", RSS %.1f MiB" % rss[-1][1] if rss else ""), flush=True)
            next_report += 60
        time.sleep(2)
    for t in threads:
        t.join(150)

    # The end state: alive, nothing running or waiting, and a clean SIGTERM.
    if not proc or proc.poll() is None:
        time.sleep(1)  # dropped requests finish being cancelled
        try:
            if cl.get("/health")[0] != 200:
                failures.append("/health is not 200 at the end")
            m = cl.get("/metrics")[1].decode()
            for name in ("fragua_active_slots", "fragua_queue_depth"):
                if metric(m, name) != 0:
                    failures.append("%s is %s at the end" % (name, metric(m, name)))
        except OSError as e:
            failures.append("the server does not answer at the end: %r" % e)
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            if proc.wait(60) != 0:
                failures.append("SIGTERM: exit status %d" % proc.returncode)
        except subprocess.TimeoutExpired:
            proc.kill()
            failures.append("SIGTERM: still running after 60 s")

    total = sum(sum(v.values()) for v in outcomes.values())
    print("\nserve_soak: %d requests in %.0f s from %d clients" % (total, time.time() - t0, a.clients))
    for kind in kinds:
        if kind in outcomes:
            print("  %-18s %s" % (kind, ", ".join("%s %d" % kv for kv in sorted(outcomes[kind].items()))))
    if rss:
        window = min(60.0, a.duration / 3)
        first = [v for t, v in rss if t <= window]
        last = [v for t, v in rss if t >= rss[-1][0] - window]
        m1, m2 = statistics.median(first), statistics.median(last)
        slope = slope_per_min([(t, v) for t, v in rss if t >= window] or rss)
        print("RSS: median %.1f MiB over the first %.0f s, %.1f MiB over the last %.0f s; slope %+.2f MiB/min "
              "after the first %.0f s; %d samples" % (m1, window, m2, window, slope, window, len(rss)))
        if m2 > m1 + max(0.10 * m1, 32.0):
            failures.append("RSS grew from %.1f to %.1f MiB" % (m1, m2))
    if failures:
        print("\nserve_soak: %d FAILURES; first ones:" % len(failures))
        for f in failures[:20]:
            print("  " + f)
        sys.exit(1)
    print("serve_soak: every request answered as expected; the server stayed up and ended cleanly")


if __name__ == "__main__":
    main()
