// SPDX-License-Identifier: Apache-2.0
// A sandboxed Jinja interpreter for chat templates: the subset of Jinja2 that Hugging Face chat
// templates use, rendered as transformers' apply_chat_template renders them
// (ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, loop controls, its own
// tojson, raise_exception and strftime_now). The template reaches only the variables it is
// given: no file, import, include or attribute beyond the data; loops, recursion and output are
// bounded (value.h). Errors name the line and column of the template.
//
// Not supported (a clear error at parse time): include/import/extends/block, call blocks,
// `recursive` loops, raw blocks.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::tokenize::jinja {

struct Options {
  bool trim_blocks = true;    // drop the first newline after a block tag
  bool lstrip_blocks = true;  // drop spaces and tabs before a block tag at the start of a line
};

class Template {
 public:
  static Result<Template> parse(std::string_view source, Options options = {});
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;
  ~Template();

  // `markup`: variables whose strings are template text (bos_token, add_generation_prompt);
  // `data`: variables whose strings are data (messages, tools). Both are JSON objects. The parts
  // of the result say which bytes came from the template's literals (parse_special) and which
  // from the data.
  Result<ChatPrompt> render(const nlohmann::ordered_json& markup, const nlohmann::ordered_json& data) const;

  struct Impl;

 private:
  explicit Template(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Does this text look like Jinja (has a `{{`, `{%` or `{#` tag)?
bool looks_like_jinja(std::string_view text);

}  // namespace fragua::tokenize::jinja
