// SPDX-License-Identifier: Apache-2.0
// The syntax tree of a Jinja template (parser.cpp builds it, render.cpp walks it). Each node
// keeps its byte offset in the (newline-normalised) source, for errors with line and column.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenize/jinja/value.h"

namespace fragua::tokenize::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    literal,  // lit
    name,     // name
    list,     // kids (tuples are lists too)
    dict,     // kids: key, value, key, value...
    attr,     // kids[0].name
    item,     // kids[0][kids[1]]
    slice,    // kids[0][kids[1]:kids[2]:kids[3]] (null kids: omitted)
    call,     // kids[0](kids[1..]), the last kw_names.size() of them named
    filter,   // kids[0] | name(kids[1..]) with kw_names as in call
    test,     // kids[0] is [not] name(kids[1..])
    unary,    // op: "-", "+", "not"
    binary,   // op: + - * / // % ** ~ and or in "not in" == != < <= > >=
    cond,     // kids[1] if kids[0] else kids[2] (kids[2] may be null)
  };
  Kind kind;
  uint32_t pos = 0;
  std::string name;     // name, attribute, filter, test or operator
  bool negate = false;  // "is not"
  Value lit;
  std::vector<ExprPtr> kids;
  std::vector<std::string> kw_names;
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct Stmt {
  enum class Kind {
    text,       // text (the template's literal text)
    output,     // {{ exprs[0] }}
    if_,        // exprs: conditions of if/elif; bodies: one each, then else
    for_,       // names: targets; exprs[0]: iterable, exprs[1]: filter (may be null); bodies: body, else
    set,        // names: targets (or names[0].attr); exprs[0]: value
    set_block,  // names[0] = rendered bodies[0]
    macro,      // name; names: parameters; exprs: their defaults (null: required); bodies[0]
    filter,     // exprs[0]: a filter node whose operand is null; bodies[0] is filtered
    break_,
    continue_,
    scope,  // bodies[0] in place (HF's {% generation %} marks assistant text only)
  };
  Kind kind;
  uint32_t pos = 0;
  std::string text;  // text, or the macro name, or the attribute of a set target
  std::vector<std::string> names;
  std::vector<ExprPtr> exprs;
  std::vector<Body> bodies;
};

}  // namespace fragua::tokenize::jinja
