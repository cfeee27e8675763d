// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/json.h"

#include <cmath>
#include <limits>

namespace fragua {

size_t json_depth_violation(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;  // the escaped character cannot end the string
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if (c == ']' || c == '}') {
      --depth;  // unbalanced text is the parser's to report
    }
  }
  return std::string_view::npos;
}

size_t json_value_count_violation(std::string_view text, size_t max_values) {
  size_t values = 1;  // the top-level value; each ',' or ':' outside a string starts one more
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if ((c == ',' || c == ':') && ++values > max_values) {
      return i;
    }
  }
  return std::string_view::npos;
}

std::string json_preview(const nlohmann::json& v, size_t max_chars) {
  if (v.is_object()) return fmt::format("an object of {} members", v.size());
  if (v.is_array()) return fmt::format("an array of {} elements", v.size());
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > max_chars) s = s.substr(0, max_chars) + "...";
  return s;
}

Result<nlohmann::json> parse_json(std::string_view text, std::string_view origin, size_t base_offset, int max_depth) {
  if (size_t at = json_depth_violation(text, max_depth); at != std::string_view::npos)
    return corruption_error("{}: JSON nested deeper than {} levels at byte offset {}", origin, max_depth,
                            base_offset + at);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    size_t at = base_offset + (e.byte > 0 ? e.byte - 1 : 0);
    return corruption_error("{}: malformed JSON at byte offset {}: {}", origin, at, e.what());
  } catch (const nlohmann::json::exception& e) {
    // out_of_range.406 (a number that overflows a double) is thrown even though it is a property
    // of the text; nlohmann gives no position for it.
    return corruption_error("{}: JSON value at byte offset {} rejected: {}", origin, base_offset, e.what());
  }
}

Result<int64_t> json_integer(const nlohmann::json& v, std::string_view what, int64_t lo, int64_t hi) {
  int64_t x = 0;
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return corruption_error("{}: {} is out of range", what, u);
    x = static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    x = v.get<int64_t>();
  } else {
    return corruption_error("{}: expected an integer, found {}", what, json_preview(v));
  }
  if (x < lo || x > hi) return corruption_error("{}: {} is outside [{}, {}]", what, x, lo, hi);
  return x;
}

Result<float> json_float(const nlohmann::json& v, std::string_view what) {
  if (!v.is_number()) return corruption_error("{}: expected a number, found {}", what, json_preview(v));
  const double d = v.get<double>();
  if (!(std::fabs(d) <= static_cast<double>(std::numeric_limits<float>::max())))
    return corruption_error("{}: {} does not fit a float", what, d);
  return static_cast<float>(d);
}

}  // namespace fragua
