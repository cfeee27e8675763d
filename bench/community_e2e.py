#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""End to end through SDG with a local teacher (issue 20's proof; docs/community.md, "End to end").

For each language of the sample taxonomy's empadronamiento leaf (es, ca-valencia, eu, gl):

1. `fragua sdg` expands the leaf through the real OpenAI client, the format, language, judge and
   duplicate filters, against a *mock teacher* that this script serves on 127.0.0.1. The mock is
   deterministic: for a generation prompt it takes one of the seed pairs shown in the prompt
   (picked by the request's seed), rewords the question with a lead-in sentence in the leaf's
   language (LEAD_INS below, by the seed) and answers with the seed answer, in the labels the
   prompt asks for; to the judge prompt it answers a score of 5 in the judge's label. Why a mock:
   a tiny model cannot write good question-answer pairs, and a hosted teacher is neither local nor
   reproducible; what this proves is the data path (client, prompts, filters, langid, output
   files) and the training on it.
2. `fragua finetune --lora` on the SFT set. Held out: the leaf's seed questions verbatim (the
   teacher only ever sent reworded copies), with their seed answers. The held-out answer loss
   (nats per answer token) is measured before the first step and after the last (metrics.jsonl,
   "when": "start" / "end").
3. `fragua align --method dpo --lora` on SDG's DPO pairs (rejected = SDG's deliberately corrupted
   answer: a wrong number, name or word of the context in place of the right one). Held out: the
   pairs of a second SDG run (run seed 2) whose mock teacher words the questions with lead-ins the
   training run never used (HELD_LEAD_INS), less any pair whose prompt or rejected answer also
   occurs in the training pairs: the same facts, asked in words DPO never saw, with corruptions it
   never saw. Reported: the DPO reward accuracy and margin (0 before the first step by
   definition) and the fraction of pairs whose chosen answer the model finds likelier than the
   rejected one, before (the starting model) and after.

The base is `--base FILE` (a GGUF model; docs/community.md uses one pretrained by `fragua train`),
or without it a small random llama GGUF (`fragua dev random-model`, seeded). Everything is seeded;
prints a Markdown table; exits 0 when the held-out answer loss falls and the held-out DPO accuracy
rises in every language. Usage (a few minutes on 2 cores with the release build):
    /usr/bin/python3 bench/community_e2e.py [--base model.gguf] [--fragua build/release/fragua]
"""
import argparse
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEAF = "data/taxonomy/knowledge/administracion/empadronamiento"
LANGS = ["es", "ca-valencia", "eu", "gl"]
# Lead-ins the mock puts before a seed question, long enough that the reworded question is not a
# MinHash near-duplicate (3-word shingles) of the seed or of another rewording.
LEAD_INS = {
    "es": ["Me gustaría saber una cosa sobre este trámite municipal:",
           "Tengo una duda que me ha surgido en la oficina del ayuntamiento:",
           "Antes de ir al ayuntamiento quiero aclarar lo siguiente:",
           "Mi vecina me ha preguntado esto y no he sabido contestarle:",
           "Estoy preparando los papeles de la mudanza y me falta saber esto:",
           "En la ventanilla no me lo explicaron bien, así que lo pregunto aquí:"],
    "ca": ["M'agradaria saber una cosa sobre aquest tràmit municipal:",
           "Tinc un dubte que m'ha sorgit a l'oficina de l'ajuntament:",
           "Abans d'anar a l'ajuntament vull aclarir el següent:",
           "La meua veïna m'ha preguntat açò i no he sabut contestar-li:",
           "Estic preparant els papers de la mudança i em falta saber açò:",
           "A la finestreta no m'ho van explicar bé, així que ho pregunte ací:"],
    "eu": ["Udal izapide honi buruzko gauza bat jakin nahi nuke:",
           "Udaletxeko bulegoan zalantza hau sortu zait gaur goizean:",
           "Udaletxera joan aurretik honako hau argitu nahi dut:",
           "Bizilagunak galdera hau egin dit eta ez dakit zer erantzun:",
           "Etxe aldaketako paperak prestatzen ari naiz eta hau falta zait:",
           "Leihatilan ez zidaten ondo azaldu, beraz hemen galdetzen dut:"],
    "gl": ["Gustaríame saber unha cousa sobre este trámite municipal:",
           "Teño unha dúbida que me xurdiu na oficina do concello:",
           "Antes de ir ao concello quero aclarar o seguinte:",
           "A miña veciña preguntoume isto e non souben responderlle:",
           "Estou a preparar os papeis da mudanza e fáltame saber isto:",
           "Na ventá non mo explicaron ben, así que o pregunto aquí:"],
}
# The held-out run's lead-ins: wordings the training run never sends.
HELD_LEAD_INS = {
    "es": ["Una pregunta rápida antes de pedir cita previa:",
           "Mi familia acaba de llegar al pueblo y queremos saber esto:"],
    "ca": ["Una pregunta ràpida abans de demanar cita prèvia:",
           "La meua família acaba d'arribar al poble i volem saber açò:"],
    "eu": ["Galdera labur bat aurretiko hitzordua eskatu baino lehen:",
           "Nire familia herrira iritsi berri da eta hau jakin nahi dugu:"],
    "gl": ["Unha pregunta rápida antes de pedir cita previa:",
           "A miña familia acaba de chegar á vila e queremos saber isto:"],
}


def prompt_header(lang, name):
    base = lang if os.path.isdir(os.path.join(ROOT, "data/sdg/prompts", lang)) else lang.split("-")[0]
    head = {}
    with open(os.path.join(ROOT, "data/sdg/prompts", base, name + ".txt"), encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("["):
                break
            k, _, v = line.partition(":")
            head[k.strip()] = v.strip()
    return head


class MockTeacher(http.server.BaseHTTPRequestHandler):
    # The language of the leaf being expanded (runs are one at a time): its labels and lead-ins.
    q_label = a_label = s_label = ""
    lead_ins = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        user = body["messages"][-1]["content"]
        seed = int(body.get("seed", 0))
        q_l, a_l = re.escape(self.q_label), re.escape(self.a_label)
        asks_pair = re.search(r"^" + q_l + r": <", user, re.M)
        if not asks_pair and self.s_label + ":" in user:  # the judge prompt
            reply = f"{self.s_label}: 5"
        else:
            pairs = [p for p in re.findall(r"^" + q_l + r": (.+)\n" + a_l + r": (.+)$", user, re.M)
                     if not p[0].startswith("<")]
            q, a = pairs[seed % len(pairs)] if pairs else ("?", "?")
            lead = self.lead_ins[(seed // max(1, len(pairs))) % len(self.lead_ins)]
            reply = f"{self.q_label}: {lead} {q}\n{self.a_label}: {a}"
        out = {"id": "mock", "object": "chat.completion",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}]}
        data = json.dumps(out, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-3000:]}")
    return r


def last_metric(path, key, when=None):
    val = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            j = json.loads(line)
            if key in j and (when is None or j.get("when") == when):
                val = j[key]
    return val


def seed_pairs(leaf_yaml):
    """The (question, answer) seed pairs of a knowledge leaf, read with the tiny YAML subset it uses."""
    pairs, q, cur, buf = [], None, None, []

    def flush():
        nonlocal cur, buf, q
        text = " ".join(s.strip() for s in buf).strip()
        if cur == "q":
            q = text
        elif cur == "a" and q is not None:
            pairs.append((q, text))
            q = None
        cur, buf = None, []

    for line in open(leaf_yaml, encoding="utf-8"):
        m = re.match(r"\s*- question: (.*)$", line)
        n = re.match(r"\s*answer: (.*)$", line)
        if m or n or re.match(r"\s*(- context|context|questions_and_answers|document|domain):", line):
            flush()
        if m:
            cur, buf = "q", [m.group(1)]
        elif n:
            cur, buf = "a", [] if n.group(1).strip() == ">-" else [n.group(1)]
        elif cur:
            buf.append(line)
    flush()
    return pairs


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def run_sdg(fr, url, leaf, out, samples, seed, lead_ins):
    MockTeacher.lead_ins = lead_ins
    run([fr, "sdg", leaf, "--root", os.path.join(ROOT, "data/taxonomy"), "-o", out, "--teacher-url", url,
         "--teacher-model", "mock", "-n", str(samples), "-j", "4", "--seed", str(seed)],
        env={**os.environ, "OPENAI_API_KEY": ""})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fragua", default=os.path.join(ROOT, "build/release/fragua"))
    ap.add_argument("--base", help="the base GGUF model (default: a random 2-layer llama)")
    ap.add_argument("--langs", default=",".join(LANGS))
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--lr", type=float, default=5e-3, help="learning rate of the SFT run")
    ap.add_argument("--dpo-steps", type=int, default=120)
    ap.add_argument("--dpo-lr", type=float, default=5e-3)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--dpo-seq-len", type=int,
                    help="rows of a DPO step, default 128 with --base (fragua-32k tokens), else 256 (the random "
                         "base's small vocabulary needs more tokens a pair); a pair is not packed, so rows longer "
                         "than the longest pair are padding")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--samples", type=int, default=90, help="SDG requests per leaf")
    ap.add_argument("--held-samples", type=int, default=30, help="SDG requests per leaf of the held-out DPO run")
    ap.add_argument("--dropout", type=float, default=0.05, help="LoRA dropout of the SFT run")
    ap.add_argument("--keep", help="keep the work folder here")
    a = ap.parse_args()
    fr = a.fragua
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), MockTeacher)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/v1"
    work = a.keep or tempfile.mkdtemp(prefix="fragua-e2e-")
    os.makedirs(work, exist_ok=True)
    base = a.base
    dpo_seq_len = a.dpo_seq_len or (128 if a.base else 256)
    if not base:
        base = os.path.join(work, "base.gguf")
        run([fr, "dev", "random-model", base, "--vocab", "512", "--embd", "64", "--layers", "2", "--heads", "4",
             "--kv-heads", "2", "--ff", "192", "--ctx", "512", "--plain-init", "--std", "0.05", "--seed", "11"])
    common = ["--lora", "--lora-rank", "8", "--lora-alpha", "16", "--lora-targets", "all",
              "--chat-template", "chatml", "--seed", "5", "-t", str(a.threads)]
    rows = []
    for lang in a.langs.split(","):
        kq, ks = prompt_header(lang, "knowledge_qa"), prompt_header(lang, "judge")
        MockTeacher.q_label, MockTeacher.a_label = kq["question_label"], kq["answer_label"]
        MockTeacher.s_label = ks["score_label"]
        leaf = os.path.join(ROOT, LEAF, lang, "qna.yaml")
        sdg, sdg_held = os.path.join(work, f"sdg-{lang}"), os.path.join(work, f"sdg-held-{lang}")
        run_sdg(fr, url, leaf, sdg, a.samples, 1, LEAD_INS[lang.split("-")[0]])
        run_sdg(fr, url, leaf, sdg_held, a.held_samples, 2, HELD_LEAD_INS[lang.split("-")[0]])
        n_sft = len(read_jsonl(os.path.join(sdg, "sft.jsonl")))
        n_rej = len(read_jsonl(os.path.join(sdg, "rejected.jsonl")))
        pairs = read_jsonl(os.path.join(sdg, "dpo.jsonl"))
        seen = {p["prompt"] for p in pairs} | {p["rejected"] for p in pairs}
        held_pairs = [p for p in read_jsonl(os.path.join(sdg_held, "dpo.jsonl"))
                      if p["prompt"] not in seen and p["rejected"] not in seen]
        kinds = {}
        for p in pairs:
            k = p["meta"]["rejected_from"].split(":")[-1]
            kinds[k] = kinds.get(k, 0) + 1
        held_dpo = os.path.join(work, f"held-dpo-{lang}.jsonl")
        write_jsonl(held_dpo, held_pairs)
        held = os.path.join(work, f"held-{lang}.jsonl")
        write_jsonl(held, [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": ans}]}
                           for q, ans in seed_pairs(leaf)])
        sft = os.path.join(sdg, "sft.jsonl")
        after = os.path.join(work, f"ft-{lang}")
        run([fr, "finetune", base, "--data", sft, "--eval-data", held, "-o", after, "--steps", str(a.steps),
             "--lr", str(a.lr), "--batch", "4", "--lora-dropout", str(a.dropout), "--seq-len", "256"] + common)
        l0 = last_metric(os.path.join(after, "metrics.jsonl"), "val_loss", "start")
        l1 = last_metric(os.path.join(after, "metrics.jsonl"), "val_loss", "end")
        dpo = os.path.join(work, f"dpo-{lang}")
        run([fr, "align", "--method", "dpo", base, "--data", os.path.join(sdg, "dpo.jsonl"), "--eval-data", held_dpo,
             "-o", dpo, "--steps", str(a.dpo_steps), "--lr", str(a.dpo_lr), "--batch", "4", "--beta", str(a.beta),
             "--seq-len", str(dpo_seq_len)] + common)
        m = os.path.join(dpo, "metrics.jsonl")
        d = {k: (last_metric(m, "val_" + k, "start"), last_metric(m, "val_" + k, "end"))
             for k in ("accuracy", "reward_margin", "logp_accuracy")}
        kind = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        rows.append((lang, n_sft, n_rej, len(seed_pairs(leaf)), l0, l1, len(pairs), kind, len(held_pairs), d))
        print(f"{lang}: sft {n_sft} (rejected {n_rej}); held-out answer loss {l0:.3f} -> {l1:.3f}; DPO pairs "
              f"{len(pairs)} ({kind}), held out {len(held_pairs)}: accuracy {d['accuracy'][0]:.2f} -> "
              f"{d['accuracy'][1]:.2f}, margin {d['reward_margin'][0]:.3f} -> {d['reward_margin'][1]:.3f}, "
              f"chosen likelier {d['logp_accuracy'][0]:.2f} -> {d['logp_accuracy'][1]:.2f}", flush=True)
    srv.shutdown()
    print("\n| language | SFT samples (rejected) | held-out questions | answer loss before -> after (nats/token) "
          "| DPO pairs (corruption) | held-out pairs | DPO accuracy before -> after | reward margin before -> after "
          "| chosen likelier before -> after |")
    print("|---|---|---|---|---|---|---|---|---|")
    ok = True
    for lang, ns, nr, nh, l0, l1, nd, kind, nhd, d in rows:
        acc, mar, lpa = d["accuracy"], d["reward_margin"], d["logp_accuracy"]
        print(f"| {lang} | {ns} ({nr}) | {nh} | {l0:.3f} -> {l1:.3f} | {nd} ({kind}) | {nhd} | {acc[0]:.2f} -> "
              f"{acc[1]:.2f} | {mar[0]:.3f} -> {mar[1]:.3f} | {lpa[0]:.2f} -> {lpa[1]:.2f} |")
        ok = ok and l1 < l0 and acc[1] > 0.5 and lpa[1] >= lpa[0]
    print("work folder:", work)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
