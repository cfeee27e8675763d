// SPDX-License-Identifier: Apache-2.0
// What the tokenizer's writers need of chat_template.cpp.
#pragma once

#include <string>
#include <string_view>

#include "fragua/base/error.h"

namespace fragua::tokenize {

// The template as Jinja text, what GGUF's tokenizer.chat_template and tokenizer_config.json
// carry (other tools know no Fragua format names): a built-in format's name becomes its Jinja
// equivalent, which renders the same text and tokens; Jinja text is returned as it is; marker
// text and unknown names are an error.
Result<std::string> chat_template_as_jinja(std::string_view template_or_name);

}  // namespace fragua::tokenize
