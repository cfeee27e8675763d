#include "fragua/base/json.h"

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

}  // namespace fragua
