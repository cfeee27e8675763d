#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes Fragua's own reading-comprehension tasks (fragua_reading_{es,ca,gl,eu}): short
passages generated here from templates and word lists written for this repository (a person,
the city they live in, where they work, how they go to work on one day of the week), each
followed by a question about one of those facts and four answers, one of them in the passage.
Not from any benchmark. Deterministic: rerunning writes the same files.

    python3 data/eval/make_reading_tasks.py        # from the repository root
"""
import json
import os
import random

N_PASSAGES = 100  # three questions each: 300 per language

LANGS = {
    "es": {
        "names": ["Ana", "Luis", "Marta", "Pablo", "Lucía", "Jorge", "Elena", "Iker"],
        "cities": ["Bilbao", "Sevilla", "Valencia", "Zaragoza", "Girona", "Vigo", "Salamanca", "Murcia"],
        "works": ["una biblioteca", "un hospital", "una escuela", "una tienda", "un banco", "un museo"],
        "ways": ["en bicicleta", "en autobús", "a pie", "en tren", "en coche"],
        "days": ["Los lunes", "Los martes", "Los miércoles", "Los jueves", "Los viernes"],
        "passage": "{n} vive en {c} y trabaja en {w}. {d} va al trabajo {t}.",
        "q_city": "¿Dónde vive {n}?", "a_city": "En {c}.",
        "q_work": "¿Dónde trabaja {n}?", "a_work": "En {w}.",
        "q_way": "¿Cómo va {n} al trabajo {dl}?", "a_way": "{T}.",
        "text": "{passage}\nPregunta: {question}\nRespuesta:",
    },
    "ca": {
        "names": ["Anna", "Jordi", "Marta", "Pau", "Núria", "Oriol", "Laia", "Iker"],
        "cities": ["Bilbao", "Sevilla", "València", "Saragossa", "Girona", "Vigo", "Salamanca", "Múrcia"],
        "works": ["una biblioteca", "un hospital", "una escola", "una botiga", "un banc", "un museu"],
        "ways": ["en bicicleta", "en autobús", "a peu", "en tren", "en cotxe"],
        "days": ["Els dilluns", "Els dimarts", "Els dimecres", "Els dijous", "Els divendres"],
        "passage": "{n} viu a {c} i treballa en {w}. {d} va a la feina {t}.",
        "q_city": "On viu {n}?", "a_city": "A {c}.",
        "q_work": "On treballa {n}?", "a_work": "En {w}.",
        "q_way": "Com va {n} a la feina {dl}?", "a_way": "{T}.",
        "text": "{passage}\nPregunta: {question}\nResposta:",
    },
    "gl": {
        "names": ["Ana", "Xoán", "Marta", "Brais", "Uxía", "Antón", "Sabela", "Iker"],
        "cities": ["Bilbao", "Sevilla", "Valencia", "Zaragoza", "Girona", "Vigo", "Salamanca", "Murcia"],
        # "nunha"/"nun": en + the indefinite article, as Galician writes it.
        "works": ["nunha biblioteca", "nun hospital", "nunha escola", "nunha tenda", "nun banco", "nun museo"],
        "ways": ["en bicicleta", "en autobús", "a pé", "en tren", "en coche"],
        "days": ["Os luns", "Os martes", "Os mércores", "Os xoves", "Os venres"],
        "passage": "{n} vive en {c} e traballa {w}. {d} vai ao traballo {t}.",
        "q_city": "Onde vive {n}?", "a_city": "En {c}.",
        "q_work": "Onde traballa {n}?", "a_work": "{W}.",
        "q_way": "Como vai {n} ao traballo {dl}?", "a_way": "{T}.",
        "text": "{passage}\nPregunta: {question}\nResposta:",
    },
    "eu": {
        # (name, ergative): "Anek egiten du lan".
        "names": [("Ane", "Anek"), ("Mikel", "Mikelek"), ("Maite", "Maitek"), ("Jon", "Jonek"),
                  ("Irati", "Iratik"), ("Unai", "Unaik"), ("Leire", "Leirek"), ("Iker", "Ikerrek")],
        # inessive: "lives in"
        "cities": ["Bilbon", "Sevillan", "Valentzian", "Zaragozan", "Gironan", "Vigon", "Salamancan", "Murtzian"],
        "works": ["liburutegi batean", "ospitale batean", "eskola batean", "denda batean", "banku batean",
                  "museo batean"],
        "ways": ["bizikletaz", "autobusez", "oinez", "trenez", "autoz"],
        "days": ["Astelehenetan", "Asteartetan", "Asteazkenetan", "Ostegunetan", "Ostiraletan"],
        "passage": "{n} {c} bizi da eta {w} egiten du lan. {d} {t} joaten da lanera.",
        "q_city": "Non bizi da {n}?", "a_city": "{C}.",
        "q_work": "Non egiten du lan {e}?", "a_work": "{W}.",
        "q_way": "Nola joaten da {n} lanera {dl}?", "a_way": "{T}.",
        "text": "{passage}\nGaldera: {question}\nErantzuna:",
    },
}

YAML = """# Fragua's own reading comprehension ({lang}), generated for this repository by
# data/eval/make_reading_tasks.py from templates and word lists written here (a person, their
# city, workplace and way to work), not from a published benchmark: a short passage, a question
# about one fact in it, four answers. Multiple choice, zero-shot, acc and acc_norm.
task: fragua_reading_{lang}
dataset_path: fragua_reading_{lang}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{text}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: gold
metric_list:
  - metric: acc
  - metric: acc_norm
metadata:
  version: 0.1
  language: {lang}
"""


def first_upper(s):
    return s[0].upper() + s[1:]


def make(spec, rnd):
    docs = []
    for _ in range(N_PASSAGES):
        name = rnd.choice(spec["names"])
        plain, erg = name if isinstance(name, tuple) else (name, name)
        city, work, way = rnd.choice(spec["cities"]), rnd.choice(spec["works"]), rnd.choice(spec["ways"])
        day = rnd.choice(spec["days"])
        passage = spec["passage"].format(n=plain, c=city, w=work, d=day, t=way)
        slots = {"city": (city, spec["cities"]), "work": (work, spec["works"]), "way": (way, spec["ways"])}
        for kind in ["city", "work", "way"]:
            right, pool = slots[kind]
            wrong = rnd.sample([x for x in pool if x != right], 3)
            options = [right] + wrong
            rnd.shuffle(options)
            fmt = spec["a_" + kind]
            choices = [fmt.format(c=o, w=o, t=o, C=first_upper(o), W=first_upper(o), T=first_upper(o)) for o in options]
            question = spec["q_" + kind].format(n=plain, e=erg, dl=day[0].lower() + day[1:])
            docs.append({"text": spec["text"].format(passage=passage, question=question), "choices": choices,
                         "gold": options.index(right), "asks": kind})
    return docs


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tasks")
    for lang, spec in LANGS.items():
        rnd = random.Random("fragua_reading_" + lang)
        folder = os.path.join(root, "fragua_reading_" + lang)
        os.makedirs(folder, exist_ok=True)
        docs = make(spec, rnd)
        with open(os.path.join(folder, "test.jsonl"), "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
        with open(os.path.join(root, "fragua_reading_" + lang + ".yaml"), "w", encoding="utf-8") as f:
            f.write(YAML.format(lang=lang))
        print(f"fragua_reading_{lang}: {len(docs)} questions on {N_PASSAGES} passages")


if __name__ == "__main__":
    main()
