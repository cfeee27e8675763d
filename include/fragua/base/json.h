// SPDX-License-Identifier: Apache-2.0
// JSON text from untrusted files and requests, parsed without exceptions escaping: every failure
// nlohmann::json can report (syntax, a number too large for a double, ...) becomes a corruption
// Error that names the input and the byte offset (DESIGN 7).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"

namespace fragua {

// Nesting limit for JSON from untrusted input. nlohmann's parser is iterative, but copying or
// dumping a parsed value recurses, so 200 KB of '[' would overflow the stack later; the deepest
// document Fragua reads (a tokenizer.json) nests about 8 levels.
inline constexpr int kJsonMaxDepth = 64;

// `origin` names the input in messages ("model.safetensors", "corpus.jsonl:12"); `base_offset` is
// the offset of `text` inside that input, so the reported offset points into the real file.
// Text nested deeper than `max_depth` arrays/objects is rejected before it is parsed.
Result<nlohmann::json> parse_json(std::string_view text, std::string_view origin, size_t base_offset = 0,
                                  int max_depth = kJsonMaxDepth);

// Offset of the first '[' or '{' that opens level max_depth + 1 (strings skipped), or npos.
size_t json_depth_violation(std::string_view text, int max_depth = kJsonMaxDepth);

// Offset of the ',' or ':' (strings skipped) past which `text` holds more than max_values JSON
// values, or npos. A parsed value costs about 50 bytes in nlohmann::json's tree, so a reader of a
// large header bounds the count before parsing (100 MB of "0," took 2.7 GB).
size_t json_value_count_violation(std::string_view text, size_t max_values);

// A short description of an untrusted value for messages: its type, and for a scalar its text
// cut to `max_chars`. Never the whole subtree (which may be huge or deeply nested).
std::string json_preview(const nlohmann::json& v, size_t max_chars = 40);

// A JSON integer as int64, or an error naming `what` when the value is not an integer in
// [lo, hi] (a float such as 6.9e106 must not reach a C++ integer conversion: that is undefined).
Result<int64_t> json_integer(const nlohmann::json& v, std::string_view what, int64_t lo = INT64_MIN,
                             int64_t hi = INT64_MAX);
// A JSON number as float, or an error when it is not a number or lies outside float's range.
Result<float> json_float(const nlohmann::json& v, std::string_view what);

}  // namespace fragua
