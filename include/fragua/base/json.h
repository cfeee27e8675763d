// JSON text from untrusted files and requests, parsed without exceptions escaping: every failure
// nlohmann::json can report (syntax, a number too large for a double, ...) becomes a corruption
// Error that names the input and the byte offset (DESIGN 7).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"

namespace fragua {

// `origin` names the input in messages ("model.safetensors", "corpus.jsonl:12"); `base_offset` is
// the offset of `text` inside that input, so the reported offset points into the real file.
Result<nlohmann::json> parse_json(std::string_view text, std::string_view origin, size_t base_offset = 0);

// A JSON integer as int64, or an error naming `what` when the value is not an integer in
// [lo, hi] (a float such as 6.9e106 must not reach a C++ integer conversion: that is undefined).
Result<int64_t> json_integer(const nlohmann::json& v, std::string_view what, int64_t lo = INT64_MIN,
                             int64_t hi = INT64_MAX);
// A JSON number as float, or an error when it is not a number or lies outside float's range.
Result<float> json_float(const nlohmann::json& v, std::string_view what);

}  // namespace fragua
