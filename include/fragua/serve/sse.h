// SPDX-License-Identifier: Apache-2.0
// Server-sent events (WHATWG HTML, "Server-sent events", the text/event-stream format) as the
// OpenAI API streams them: each chunk is one event `data: <JSON>\n\n`, and the stream ends with
// `data: [DONE]\n\n`.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace fragua::serve {

inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

// One event carrying `payload`. A line break inside the payload starts another `data:` line
// (the client joins them with '\n'), so any text survives the framing; compact JSON has none.
std::string sse_event(std::string_view payload);
// The JSON value, compact (one line), invalid UTF-8 replaced by U+FFFD.
std::string sse_json(const nlohmann::ordered_json& value);

}  // namespace fragua::serve
