// SPDX-License-Identifier: Apache-2.0
#include "fragua/serve/sse.h"

namespace fragua::serve {

std::string sse_event(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 8);
  size_t pos = 0;
  while (true) {
    // A line ends at LF, CR or CRLF (the format's end-of-line); each line becomes a data field.
    size_t end = payload.find_first_of("\r\n", pos);
    out += "data: ";
    out.append(payload.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    out += '\n';
    if (end == std::string_view::npos) break;
    pos = end + (payload[end] == '\r' && end + 1 < payload.size() && payload[end + 1] == '\n' ? 2 : 1);
  }
  out += '\n';
  return out;
}

std::string sse_json(const nlohmann::ordered_json& value) {
  return sse_event(value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

}  // namespace fragua::serve
