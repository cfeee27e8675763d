#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes Fragua's own grammatical minimal pairs (fragua_pairs_{es,ca,gl,eu}/test.jsonl): the
hand-written pairs of handwritten.jsonl first, then pairs generated here from templates and word
lists written for this repository (not taken from any benchmark). Each pair is a grammatical
sentence and the same sentence with one change that breaks one rule; each names its phenomenon.
Deterministic: rerunning writes the same files.

    python3 data/eval/make_pair_tasks.py        # from the repository root
"""
import json
import os
import random

PER_LANGUAGE = 300  # generated pairs per language, spread evenly over its phenomena


def cap(s):
    return s[0].upper() + s[1:]


def es():
    nouns = [("el niño", "los niños"), ("la niña", "las niñas"), ("el perro", "los perros"),
             ("la profesora", "las profesoras"), ("el vecino", "los vecinos"), ("la médica", "las médicas"),
             ("el gato", "los gatos"), ("la alumna", "las alumnas")]
    verbs = [("duerme", "duermen", "en casa"), ("trabaja", "trabajan", "todos los días"),
             ("canta", "cantan", "muy bien"), ("llega", "llegan", "tarde"), ("come", "comen", "pan"),
             ("lee", "leen", "el periódico"), ("vive", "viven", "en el pueblo"), ("corre", "corren", "por el parque")]
    out = {"subject_verb_agreement": [], "noun_adjective_agreement": [], "clitic_placement": [],
           "clitic_order": [], "subjunctive": []}
    for sg, pl in nouns:
        for v_sg, v_pl, rest in verbs:
            out["subject_verb_agreement"].append((f"{cap(sg)} {v_sg} {rest}.", f"{cap(sg)} {v_pl} {rest}."))
            out["subject_verb_agreement"].append((f"{cap(pl)} {v_pl} {rest}.", f"{cap(pl)} {v_sg} {rest}."))
    things = [("el coche", "m"), ("la casa", "f"), ("el libro", "m"), ("la mesa", "f"), ("el edificio", "m"),
              ("la silla", "f"), ("el jardín", "m"), ("la ventana", "f")]
    adjs = [("blanco", "blanca"), ("pequeño", "pequeña"), ("nuevo", "nueva"), ("viejo", "vieja"),
            ("alto", "alta"), ("bonito", "bonita"), ("rojo", "roja"), ("limpio", "limpia")]
    for thing, g in things:
        for m, f in adjs:
            good, bad = (m, f) if g == "m" else (f, m)
            out["noun_adjective_agreement"].append((f"{cap(thing)} es {good}.", f"{cap(thing)} es {bad}."))
    for v in ["compré", "leí", "vi", "traje", "guardé", "limpié", "encontré", "vendí"]:
        for cl in ["lo", "la", "los", "las"]:
            for when in ["ayer", "el lunes"]:
                out["clitic_placement"].append((f"{cap(cl)} {v} {when}.", f"{cap(v)} {cl} {when}."))
    for v in ["di", "dije", "expliqué", "mandé", "enseñé", "presté", "devolví", "llevé"]:
        for who in ["a María", "a mi hermano", "al vecino", "a la profesora", "a Juan", "a la vecina", "al médico",
                    "a sus padres"]:
            out["clitic_order"].append((f"Se lo {v} {who}.", f"Lo se {v} {who}."))
    subj = [("vengas", "vienes"), ("comas", "comes"), ("estudies", "estudias"), ("llegues", "llegas"),
            ("duermas", "duermes"), ("leas", "lees"), ("salgas", "sales"), ("vuelvas", "vuelves")]
    for main in ["Quiero que", "Espero que", "Es importante que", "Ojalá"]:
        for good, bad in subj:
            for when in ["pronto", "mañana"]:
                out["subjunctive"].append((f"{main} {good} {when}.", f"{main} {bad} {when}."))
    return out


def ca():
    nouns = [("el nen", "els nens"), ("la nena", "les nenes"), ("el gos", "els gossos"),
             ("la professora", "les professores"), ("el veí", "els veïns"), ("la metgessa", "les metgesses"),
             ("el gat", "els gats"), ("la noia", "les noies")]
    verbs = [("dorm", "dormen", "a casa"), ("treballa", "treballen", "cada dia"), ("canta", "canten", "molt bé"),
             ("arriba", "arriben", "tard"), ("menja", "mengen", "pa"), ("llegeix", "llegeixen", "el diari"),
             ("viu", "viuen", "al poble"), ("corre", "corren", "pel parc")]
    out = {"subject_verb_agreement": [], "noun_adjective_agreement": [], "clitic_placement": [],
           "clitic_order": [], "periphrastic_past": [], "subjunctive": []}
    for sg, pl in nouns:
        for v_sg, v_pl, rest in verbs:
            out["subject_verb_agreement"].append((f"{cap(sg)} {v_sg} {rest}.", f"{cap(sg)} {v_pl} {rest}."))
            out["subject_verb_agreement"].append((f"{cap(pl)} {v_pl} {rest}.", f"{cap(pl)} {v_sg} {rest}."))
    things = [("el cotxe", "m"), ("la casa", "f"), ("el llibre", "m"), ("la taula", "f"), ("el carrer", "m"),
              ("la cadira", "f"), ("el jardí", "m"), ("la finestra", "f")]
    adjs = [("blanc", "blanca"), ("petit", "petita"), ("nou", "nova"), ("vell", "vella"), ("alt", "alta"),
            ("bonic", "bonica"), ("vermell", "vermella"), ("net", "neta")]
    for thing, g in things:
        for m, f in adjs:
            good, bad = (m, f) if g == "m" else (f, m)
            out["noun_adjective_agreement"].append((f"{cap(thing)} és {good}.", f"{cap(thing)} és {bad}."))
    for v in ["compro", "llegeixo", "veig", "porto", "guardo", "netejo", "busco", "venc"]:
        for cl in ["el", "la", "els", "les"]:
            for when in ["cada dia", "avui"]:
                out["clitic_placement"].append((f"{cap(cl)} {v} {when}.", f"{cap(v)} {cl} {when}."))
    for v in ["dono", "explico", "envio", "deixo", "ensenyo", "porto", "torno", "dic"]:
        for when in ["demà", "ara", "aquesta tarda", "dilluns", "després", "avui", "aquest vespre"]:
            out["clitic_order"].append((f"Li ho {v} {when}.", f"Ho li {v} {when}."))
    # The periphrastic past: anar + infinitive, never the participle.
    for inf, part, obj in [("menjar", "menjat", "pa"), ("comprar", "comprat", "fruita"),
                           ("llegir", "llegit", "el llibre"), ("veure", "vist", "la pel·lícula"),
                           ("escriure", "escrit", "una carta"), ("trobar", "trobat", "les claus"),
                           ("obrir", "obert", "la porta"), ("beure", "begut", "aigua"),
                           ("vendre", "venut", "el pis"), ("tancar", "tancat", "la finestra")]:
        for aux in ["vaig", "vas", "va", "vam", "vau", "van"]:
            out["periphrastic_past"].append((f"Ahir {aux} {inf} {obj}.", f"Ahir {aux} {part} {obj}."))
    subj = [("vinguis", "véns"), ("mengis", "menges"), ("estudiïs", "estudies"), ("arribis", "arribes"),
            ("dormis", "dorms"), ("llegeixis", "llegeixes"), ("surtis", "surts"), ("tornis", "tornes")]
    for main in ["Vull que", "Espero que", "És important que", "Tant de bo"]:
        for good, bad in subj:
            for when in ["aviat", "demà"]:
                out["subjunctive"].append((f"{main} {good} {when}.", f"{main} {bad} {when}."))
    return out


def gl():
    nouns = [("o neno", "os nenos"), ("a nena", "as nenas"), ("o can", "os cans"),
             ("a profesora", "as profesoras"), ("o veciño", "os veciños"), ("a médica", "as médicas"),
             ("o gato", "os gatos"), ("a rapaza", "as rapazas")]
    verbs = [("dorme", "dormen", "na casa"), ("traballa", "traballan", "todos os días"),
             ("canta", "cantan", "moi ben"), ("chega", "chegan", "tarde"), ("come", "comen", "pan"),
             ("le", "len", "o xornal"), ("vive", "viven", "na aldea"), ("corre", "corren", "polo parque")]
    out = {"subject_verb_agreement": [], "noun_adjective_agreement": [], "clitic_enclisis": [],
           "clitic_proclisis_after_negation": [], "preposition_article_contraction": [], "subjunctive": []}
    for sg, pl in nouns:
        for v_sg, v_pl, rest in verbs:
            out["subject_verb_agreement"].append((f"{cap(sg)} {v_sg} {rest}.", f"{cap(sg)} {v_pl} {rest}."))
            out["subject_verb_agreement"].append((f"{cap(pl)} {v_pl} {rest}.", f"{cap(pl)} {v_sg} {rest}."))
    things = [("o coche", "m"), ("a casa", "f"), ("o libro", "m"), ("a mesa", "f"), ("o edificio", "m"),
              ("a cadeira", "f"), ("o xardín", "m"), ("a fiestra", "f")]
    adjs = [("branco", "branca"), ("pequeno", "pequena"), ("novo", "nova"), ("vello", "vella"),
            ("alto", "alta"), ("bonito", "bonita"), ("vermello", "vermella"), ("limpo", "limpa")]
    for thing, g in things:
        for m, f in adjs:
            good, bad = (m, f) if g == "m" else (f, m)
            out["noun_adjective_agreement"].append((f"{cap(thing)} é {good}.", f"{cap(thing)} é {bad}."))
    # A declarative main clause puts the clitic after the verb (after -u, o/a become no/na);
    # negation brings it before the verb.
    verbs_u = ["viu", "mercou", "leu", "gardou", "levou", "atopou", "pechou", "limpou"]
    for v in verbs_u:
        for cl in ["o", "a"]:
            for when in ["onte", "o luns", "pola mañá", "esta mañá"]:
                out["clitic_enclisis"].append((f"{cap(v)}n{cl} {when}.", f"{cap(cl)} {v} {when}."))
                out["clitic_proclisis_after_negation"].append((f"Non {cl} {v} {when}.", f"Non {v}n{cl} {when}."))
    places = [("na casa", "en a casa"), ("no parque", "en o parque"), ("na praia", "en a praia"),
              ("no mercado", "en o mercado"), ("da vila", "de a vila"), ("do colexio", "de o colexio"),
              ("pola rúa", "por a rúa"), ("polo camiño", "por o camiño")]
    subjects = ["A miña irmá", "O meu pai", "O veciño", "A profesora", "Xoán", "Uxía", "O neno", "A avoa"]
    verbs_place = {"na": "está", "no": "está", "da": "vén", "do": "vén", "pola": "pasea", "polo": "pasea"}
    for good, bad in places:
        v = verbs_place[good.split()[0]]
        for s in subjects:
            out["preposition_article_contraction"].append((f"{s} {v} {good}.", f"{s} {v} {bad}."))
    subj = [("veñas", "vés"), ("comas", "comes"), ("estudes", "estudas"), ("chegues", "chegas"),
            ("durmas", "dormes"), ("leas", "les"), ("saias", "saes"), ("volvas", "volves")]
    for main in ["Quero que", "Espero que", "É importante que", "Oxalá"]:
        for good, bad in subj:
            for when in ["pronto", "mañá"]:
                out["subjunctive"].append((f"{main} {good} {when}.", f"{main} {bad} {when}."))
    return out


def eu():
    # (absolutive singular, ergative singular, ergative plural)
    nouns = [("umea", "umeak", "umeek"), ("gizona", "gizonak", "gizonek"), ("irakaslea", "irakasleak", "irakasleek"),
             ("ikaslea", "ikasleak", "ikasleek"), ("emakumea", "emakumeak", "emakumeek"),
             ("mutila", "mutilak", "mutilek"), ("sukaldaria", "sukaldariak", "sukaldariek"),
             ("medikua", "medikuak", "medikuek"), ("laguna", "lagunak", "lagunek"),
             ("baserritarra", "baserritarrak", "baserritarrek")]
    # (object singular, object plural, participle)
    objects = [("ogia", "ogiak", "jan"), ("sagarra", "sagarrak", "jan"), ("liburua", "liburuak", "irakurri"),
               ("gutuna", "gutunak", "idatzi"), ("etxea", "etxeak", "saldu"), ("kotxea", "kotxeak", "erosi"),
               ("atea", "ateak", "ireki"), ("argazkia", "argazkiak", "atera")]
    out = {"ergative_subject": [], "absolutive_intransitive_subject": [], "auxiliary_object_number": [],
           "auxiliary_subject_number": [], "auxiliary_transitivity": []}
    for abs_sg, erg_sg, erg_pl in nouns:
        for obj_sg, obj_pl, verb in objects:
            out["ergative_subject"].append((f"{cap(erg_sg)} {obj_sg} {verb} du.", f"{cap(abs_sg)} {obj_sg} {verb} du."))
            out["auxiliary_object_number"].append(
                (f"{cap(erg_sg)} {obj_pl} {verb} ditu.", f"{cap(erg_sg)} {obj_pl} {verb} du."))
            out["auxiliary_subject_number"].append(
                (f"{cap(erg_pl)} {obj_sg} {verb} dute.", f"{cap(erg_pl)} {obj_sg} {verb} du."))
            out["auxiliary_transitivity"].append((f"{cap(erg_sg)} {obj_sg} {verb} du.", f"{cap(erg_sg)} {obj_sg} {verb} da."))
        for verb, where in [("etorri", "gaur"), ("joan", "etxera"), ("erori", "kalean"), ("iritsi", "berandu"),
                            ("sartu", "etxean"), ("esnatu", "goiz"), ("eseri", "aulkian")]:
            out["absolutive_intransitive_subject"].append(
                (f"{cap(abs_sg)} {where} {verb} da.", f"{cap(erg_sg)} {where} {verb} da."))
    return out


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tasks")
    for lang, make in [("es", es), ("ca", ca), ("gl", gl), ("eu", eu)]:
        rnd = random.Random(f"fragua_pairs_{lang}")
        folder = os.path.join(root, f"fragua_pairs_{lang}")
        with open(os.path.join(folder, "handwritten.jsonl"), encoding="utf-8") as f:
            lines = [line for line in f if line.strip()]
        seen = set()  # (good, bad): a good sentence may serve two phenomena, a pair only once
        for line in lines:
            d = json.loads(line)
            seen.add((d["sentence_good"], d["sentence_bad"]))
        phenomena = make()
        per = PER_LANGUAGE // len(phenomena)
        generated = []
        for name in sorted(phenomena):
            pairs = [p for p in phenomena[name] if p not in seen and p[0] != p[1]]
            assert len(pairs) >= per, (lang, name, len(pairs))
            for good, bad in rnd.sample(pairs, per):
                seen.add((good, bad))
                generated.append({"phenomenon": name, "sentence_good": good, "sentence_bad": bad, "source": "generated"})
        rnd.shuffle(generated)
        with open(os.path.join(folder, "test.jsonl"), "w", encoding="utf-8") as f:
            f.writelines(lines)
            for d in generated:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
        print(f"fragua_pairs_{lang}: {len(lines)} hand-written + {len(generated)} generated")


if __name__ == "__main__":
    main()
