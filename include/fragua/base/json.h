// JSON text from untrusted files and requests, parsed without exceptions escaping: every failure
// nlohmann::json can report (syntax, a number too large for a double, ...) becomes a corruption
// Error that names the input and the byte offset (DESIGN 7).
#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"

namespace fragua {

// `origin` names the input in messages ("model.safetensors", "corpus.jsonl:12"); `base_offset` is
// the offset of `text` inside that input, so the reported offset points into the real file.
Result<nlohmann::json> parse_json(std::string_view text, std::string_view origin, size_t base_offset = 0);

}  // namespace fragua
