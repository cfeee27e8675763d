#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes Fragua's own arithmetic word problems (fragua_arith_{es,ca,gl,eu}): generated here
from templates written for this repository (names x objects x numbers, addition and
subtraction), not taken from any benchmark. Deterministic: rerunning writes the same files.

    python3 data/eval/make_arith_tasks.py        # from the repository root
"""
import json
import os
import random

# Per language: names (eu: with their ergative form), objects (singular/plural or the bare
# Basque noun), and the two templates; every answer is at least 2 so plural agreement holds.
LANGS = {
    "es": {
        "names": ["Ana", "Luis", "Marta", "Pablo", "Lucía", "Jorge"],
        "objects": [("manzanas", "Cuántas"), ("libros", "Cuántos"), ("lápices", "Cuántos"), ("galletas", "Cuántas")],
        "add": "{n} tiene {a} {o} y compra {b} más. ¿{q} {o} tiene ahora?",
        "sub": "{n} tiene {a} {o} y regala {b}. ¿{q} {o} le quedan?",
        "answer": "Respuesta: ",
    },
    "ca": {
        "names": ["Anna", "Jordi", "Marta", "Pau", "Núria", "Oriol"],
        "objects": [("pomes", "Quantes"), ("llibres", "Quants"), ("llapis", "Quants"), ("galetes", "Quantes")],
        "add": "{n} té {a} {o} i en compra {b} més. {q} {o} té ara?",
        "sub": "{n} té {a} {o} i en regala {b}. {q} {o} li queden?",
        "answer": "Resposta: ",
    },
    "gl": {
        "names": ["Antía", "Brais", "Uxía", "Xoán", "Sabela", "Roi"],
        "objects": [("mazás", "Cantas"), ("libros", "Cantos"), ("lapis", "Cantos"), ("galletas", "Cantas")],
        "add": "{n} ten {a} {o} e compra {b} máis. {q} {o} ten agora?",
        "sub": "{n} ten {a} {o} e regala {b}. {q} {o} lle quedan?",
        "answer": "Resposta: ",
    },
    "eu": {
        "names": [("Ane", "Anek"), ("Jon", "Jonek"), ("Miren", "Mirenek"), ("Amaia", "Amaiak"), ("Iker", "Ikerrek"),
                  ("Unai", "Unaik")],
        "objects": [("sagar", None), ("liburu", None), ("arkatz", None), ("gaileta", None)],
        "add": "{e} {a} {o} ditu eta beste {b} erosten ditu. Zenbat {o} ditu orain?",
        "sub": "{e} {a} {o} ditu eta {b} oparitzen ditu. Zenbat {o} geratzen zaizkio?",
        "answer": "Erantzuna: ",
    },
}

YAML = """# Fragua's own arithmetic word problems ({lang}), generated for this repository by
# data/eval/make_arith_tasks.py from templates (names x objects x numbers; addition and
# subtraction, answers 2-99), not from a published benchmark. Generative: the model writes the
# number after the answer cue; scored by exact match, greedy, stopped at the line's end.
task: fragua_arith_{lang}
dataset_path: fragua_arith_{lang}
test_split: test
fewshot_split: train
output_type: generate_until
doc_to_text: "{{{{question}}}}\\n{cue}"
doc_to_target: answer
target_delimiter: ""
fewshot_delimiter: "\\n\\n"
num_fewshot: 3
generation_kwargs:
  until: ["\\n"]
  max_gen_toks: 8
metric_list:
  - metric: exact_match
metadata:
  version: 0.1
  language: {lang}
"""


def make(lang, spec, rnd, n):
    docs = []
    for _ in range(n):
        name = rnd.choice(spec["names"])
        obj, q = rnd.choice(spec["objects"])
        if rnd.random() < 0.5:
            a, b = rnd.randint(2, 60), rnd.randint(2, 39)
            template, answer = spec["add"], a + b
        else:
            a = rnd.randint(5, 99)
            b = rnd.randint(1, a - 2)
            template, answer = spec["sub"], a - b
        plain, ergative = name if isinstance(name, tuple) else (name, None)
        text = template.format(n=plain, e=ergative, a=a, b=b, o=obj, q=q)
        docs.append({"question": text, "answer": str(answer)})
    return docs


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tasks")
    for lang, spec in LANGS.items():
        rnd = random.Random("fragua_arith_" + lang)
        os.makedirs(os.path.join(root, "fragua_arith_" + lang), exist_ok=True)
        for split, n in (("train", 20), ("test", 300)):
            with open(os.path.join(root, "fragua_arith_" + lang, split + ".jsonl"), "w", encoding="utf-8") as f:
                for d in make(lang, spec, rnd, n):
                    f.write(json.dumps(d, ensure_ascii=False) + "\n")
        with open(os.path.join(root, "fragua_arith_" + lang + ".yaml"), "w", encoding="utf-8") as f:
            f.write(YAML.format(lang=lang, cue=spec["answer"]))


if __name__ == "__main__":
    main()
