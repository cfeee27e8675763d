#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Reference renderer for tests/tokenize/jinja_test.cpp: Python's Jinja2 (Debian python3-jinja2)
set up the way transformers' apply_chat_template sets it up (chat_template_utils.py):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with loop controls, a tojson
that is json.dumps(ensure_ascii=False), and the globals raise_exception and strftime_now; the
render gets messages, tools (None without tools), documents=None, add_generation_prompt and the
special tokens.

usage: jinja_render.py CASES.json OUT.json
CASES.json: a list of {"template", "messages", "add_generation_prompt", "bos_token", "eos_token",
"tools"?, "variables"?}. OUT.json: a list of {"text": ...} or {"error": "..."}, one per case.
Exits 77 with a message when Jinja2 is absent (the test then skips)."""
import json
import sys
from datetime import datetime

try:
    import jinja2
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment
except ImportError:
    print("jinja_render.py: Python's jinja2 is absent (Debian package python3-jinja2)")
    sys.exit(77)


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.now().strftime(fmt)


def main():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    out = []
    for case in cases:
        try:
            text = env.from_string(case["template"]).render(
                messages=case["messages"],
                tools=case.get("tools"),
                documents=None,
                add_generation_prompt=case["add_generation_prompt"],
                bos_token=case["bos_token"],
                eos_token=case["eos_token"],
                **case.get("variables", {}),
            )
            out.append({"text": text})
        except Exception as e:  # the test compares only that both sides fail
            out.append({"error": f"{type(e).__name__}: {e}"})
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
