#include "fragua/base/json.h"

#include <cmath>
#include <limits>

namespace fragua {

Result<nlohmann::json> parse_json(std::string_view text, std::string_view origin, size_t base_offset) {
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
    return corruption_error("{}: expected an integer, found {}", what, v.dump());
  }
  if (x < lo || x > hi) return corruption_error("{}: {} is outside [{}, {}]", what, x, lo, hi);
  return x;
}

Result<float> json_float(const nlohmann::json& v, std::string_view what) {
  if (!v.is_number()) return corruption_error("{}: expected a number, found {}", what, v.dump());
  const double d = v.get<double>();
  if (!(std::fabs(d) <= static_cast<double>(std::numeric_limits<float>::max())))
    return corruption_error("{}: {} does not fit a float", what, d);
  return static_cast<float>(d);
}

}  // namespace fragua
