#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes Fragua's own translation tasks between Spanish and each co-official language
(fragua_mt_{es_ca,ca_es,es_gl,gl_es,es_eu,eu_es}): sentence pairs generated here from templates
and word lists written for this repository (opening days, quantities, dates, administrative
phrases), not taken from any corpus. Generative, scored by chrF and BLEU.
Deterministic: rerunning writes the same files.

    python3 data/eval/make_translation_tasks.py        # from the repository root
"""
import json
import os
import random

N_TEST, N_TRAIN = 200, 10
LANG_NAME = {"es": "Español", "ca": "Català", "gl": "Galego", "eu": "Euskara"}

# (es, ca, gl, eu): the subject of "opens on <day>"; Basque needs no article choice.
PLACES = [("La oficina", "L'oficina", "A oficina", "Bulegoa"),
          ("La biblioteca", "La biblioteca", "A biblioteca", "Liburutegia"),
          ("El ayuntamiento", "L'ajuntament", "O concello", "Udaletxea"),
          ("El museo", "El museu", "O museo", "Museoa"),
          ("La farmacia", "La farmàcia", "A farmacia", "Farmazia"),
          ("El mercado", "El mercat", "O mercado", "Merkatua")]
# es, ca, gl, eu (inessive: "on Monday")
DAYS = [("lunes", "dilluns", "luns", "astelehenean"), ("martes", "dimarts", "martes", "asteartean"),
        ("miércoles", "dimecres", "mércores", "asteazkenean"), ("jueves", "dijous", "xoves", "ostegunean"),
        ("viernes", "divendres", "venres", "ostiralean"), ("sábado", "dissabte", "sábado", "larunbatean"),
        ("domingo", "diumenge", "domingo", "igandean")]
# Quantities: (es, ca, gl, eu) of "I need N ..."; the numeral stays in digits.
THINGS = [("copias del formulario", "còpies del formulari", "copias do formulario", "Formularioaren {n} kopia"),
          ("sellos", "segells", "selos", "{n} zigilu"),
          ("sillas", "cadires", "cadeiras", "{n} aulki"),
          ("entradas para el concierto", "entrades per al concert", "entradas para o concerto", "Kontzerturako {n} sarrera"),
          ("certificados", "certificats", "certificados", "{n} ziurtagiri")]
# Months: es, ca (with its preposition: d' before a vowel), gl, eu (genitive).
MONTHS = [("enero", "de gener", "xaneiro", "urtarrilaren"), ("febrero", "de febrer", "febreiro", "otsailaren"),
          ("marzo", "de març", "marzo", "martxoaren"), ("abril", "d'abril", "abril", "apirilaren"),
          ("mayo", "de maig", "maio", "maiatzaren"), ("junio", "de juny", "xuño", "ekainaren"),
          ("julio", "de juliol", "xullo", "uztailaren"), ("agosto", "d'agost", "agosto", "abuztuaren"),
          ("septiembre", "de setembre", "setembro", "irailaren"), ("octubre", "d'octubre", "outubro", "urriaren"),
          ("noviembre", "de novembre", "novembro", "azaroaren"), ("diciembre", "de desembre", "decembro", "abenduaren")]
# Day numbers with the Basque inessive ending each takes (bostean, bian, hogeian...).
DAY_NUMBERS = [(1, "ean"), (2, "an"), (3, "an"), (4, "an"), (5, "ean"), (6, "an"), (7, "an"), (8, "an"), (9, "an"),
               (10, "ean"), (12, "an"), (15, "ean"), (20, "an"), (25, "ean"), (30, "ean")]
EVENTS = [("La reunión", "La reunió", "A reunión", "Bilera"),
          ("El examen", "L'examen", "O exame", "Azterketa"),
          ("La entrevista", "L'entrevista", "A entrevista", "Elkarrizketa"),
          ("El plazo de inscripción termina", "El termini d'inscripció acaba", "O prazo de inscrición remata",
           "Izena emateko epea amaitzen da")]
# Fixed administrative phrases, written and translated here.
PHRASES = [
    ("Rellene el formulario con letras mayúsculas.", "Empleneu el formulari amb lletres majúscules.",
     "Encha o formulario con letras maiúsculas.", "Bete inprimakia letra larriz."),
    ("Presente el documento de identidad.", "Presenteu el document d'identitat.",
     "Presente o documento de identidade.", "Aurkeztu nortasun agiria."),
    ("La solicitud se ha registrado correctamente.", "La sol·licitud s'ha registrat correctament.",
     "A solicitude rexistrouse correctamente.", "Eskaera behar bezala erregistratu da."),
    ("El servicio está cerrado por vacaciones.", "El servei està tancat per vacances.",
     "O servizo está pechado por vacacións.", "Zerbitzua itxita dago oporrengatik."),
    ("Pida cita previa por teléfono.", "Demaneu cita prèvia per telèfon.",
     "Pida cita previa por teléfono.", "Eskatu aurretiko hitzordua telefonoz."),
    ("Firme al final de la página.", "Signeu al final de la pàgina.",
     "Asine ao final da páxina.", "Sinatu orriaren amaieran."),
    ("Gracias por su paciencia.", "Gràcies per la vostra paciència.",
     "Grazas pola súa paciencia.", "Eskerrik asko zure pazientziagatik."),
    ("La ventanilla número dos está abierta.", "La finestreta número dos és oberta.",
     "O guiché número dous está aberto.", "Bi zenbakiko leihatila irekita dago."),
]


def pairs():
    """Every sentence as (es, ca, gl, eu): the dates apart, being the most numerous."""
    out, dates = [], []
    for place in PLACES:
        for day in DAYS:
            out.append((f"{place[0]} abre el {day[0]}.", f"{place[1]} obre el {day[1]}.",
                        f"{place[2]} abre o {day[2]}.", f"{place[3]} {day[3]} irekitzen da."))
    for thing in THINGS:
        for n in range(2, 13):
            out.append((f"Necesito {n} {thing[0]}.", f"Necessito {n} {thing[1]}.", f"Necesito {n} {thing[2]}.",
                        thing[3].format(n=n) + " behar ditut."))
    for ev in EVENTS:
        for month in MONTHS:
            for d, suffix in DAY_NUMBERS:
                ca_the = "l'" if d == 1 else "el "  # "l'1 de gener": the article elides before "u"
                if ev[0].startswith("El plazo"):
                    dates.append((f"{ev[0]} el {d} de {month[0]}.", f"{ev[1]} {ca_the}{d} {month[1]}.",
                                f"{ev[2]} o {d} de {month[2]}.", f"{ev[3].replace(' amaitzen da', '')} "
                                f"{month[3]} {d}{suffix} amaitzen da."))
                else:
                    dates.append((f"{ev[0]} es el {d} de {month[0]}.", f"{ev[1]} és {ca_the}{d} {month[1]}.",
                                f"{ev[2]} é o {d} de {month[2]}.", f"{ev[3]} {month[3]} {d}{suffix} da."))
    out.extend(PHRASES)
    return out, dates


YAML = """# Fragua's own translation task ({src} -> {tgt}), generated for this repository by
# data/eval/make_translation_tasks.py from templates and word lists written here (opening days,
# quantities, dates, administrative phrases), not from a published corpus. Generative: greedy,
# stopped at the line's end; scored by chrF and BLEU (sacreBLEU's 13a tokenization), as the
# harness's flores tasks are (the generation starts with the space after the cue).
task: fragua_mt_{src}_{tgt}
dataset_path: fragua_mt_{src}_{tgt}
test_split: test
fewshot_split: train
output_type: generate_until
doc_to_text: "{src_name}: {{{{source}}}}\\n{tgt_name}:"
doc_to_target: target
target_delimiter: " "
fewshot_delimiter: "\\n\\n"
num_fewshot: 3
generation_kwargs:
  until: ["\\n"]
  max_gen_toks: 64
metric_list:
  - metric: chrf
  - metric: bleu
metadata:
  version: 0.1
  language: {lang}
"""


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tasks")
    plain, dates = pairs()
    col = {"es": 0, "ca": 1, "gl": 2, "eu": 3}
    for other in ["ca", "gl", "eu"]:
        rnd = random.Random("fragua_mt_" + other)
        # Every non-date sentence, and dates up to the total.
        chosen = plain + rnd.sample(dates, N_TEST + N_TRAIN - len(plain))
        rnd.shuffle(chosen)
        for src, tgt in [("es", other), (other, "es")]:
            name = f"fragua_mt_{src}_{tgt}"
            os.makedirs(os.path.join(root, name), exist_ok=True)
            for split, docs in [("train", chosen[:N_TRAIN]), ("test", chosen[N_TRAIN:])]:
                with open(os.path.join(root, name, split + ".jsonl"), "w", encoding="utf-8") as f:
                    for d in docs:
                        f.write(json.dumps({"source": d[col[src]], "target": d[col[tgt]]}, ensure_ascii=False) + "\n")
            with open(os.path.join(root, name + ".yaml"), "w", encoding="utf-8") as f:
                # The language a row is filed under is the co-official one, either direction.
                f.write(YAML.format(src=src, tgt=tgt, src_name=LANG_NAME[src], tgt_name=LANG_NAME[tgt], lang=other))
            print(f"{name}: {N_TEST} test + {N_TRAIN} few-shot pairs (of {len(plain) + len(dates)} written)")


if __name__ == "__main__":
    main()
