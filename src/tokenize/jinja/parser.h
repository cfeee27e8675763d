// SPDX-License-Identifier: Apache-2.0
// Lexer and parser of the Jinja subset (jinja.h): source text to the tree of ast.h.
#pragma once

#include <string>
#include <string_view>

#include "tokenize/jinja/ast.h"
#include "tokenize/jinja/jinja.h"

namespace fragua::tokenize::jinja {

// Jinja2 normalises newlines to "\n" and drops one trailing newline (keep_trailing_newline is
// off in transformers' environment); the parser and error positions work on this text.
std::string normalize_source(std::string_view source);

Result<Body> parse_template(std::string_view source, const Options& options);

// "line L, column C" of a byte offset (columns count characters, from 1).
std::string location(std::string_view source, uint32_t pos);

}  // namespace fragua::tokenize::jinja
