// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the JSON schema compiler and the byte-level recogniser (serve/json_constraint.h).
// The input is a schema's JSON text, a NUL byte, then bytes to feed. A schema that does not parse
// or compile must give an error (never a crash); one that compiles is fed the bytes one by one:
// a rejected byte leaves the state as it was, and every prefix the recogniser calls complete is a
// JSON document (nlohmann's parser, which also checks UTF-8) that a recogniser fed the same bytes
// at once agrees on.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fragua/base/json.h"
#include "fragua/serve/json_constraint.h"

using namespace fragua::serve;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nul = in.find('\0');
  const std::string_view schema_text = in.substr(0, nul);
  const std::string_view bytes = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
  std::shared_ptr<const CompiledSchema> schema;
  if (schema_text.empty()) {
    schema = any_json_object_schema();
  } else {
    auto doc = fragua::parse_json(schema_text, "schema");
    if (!doc.ok()) return 0;
    auto compiled = compile_json_schema(*doc);
    if (!compiled.ok()) {
      if (compiled.error().message().empty()) std::abort();
      return 0;
    }
    schema = *compiled;
  }
  JsonRecognizer r(schema);
  std::string accepted;
  int checks = 0;
  for (char c : bytes) {
    const bool complete = r.is_complete(), more = r.can_continue();
    if (!r.feed(static_cast<uint8_t>(c))) {
      if (r.is_complete() != complete || r.can_continue() != more) std::abort();
      continue;
    }
    accepted += c;
    if (r.is_complete() && checks < 8) {
      ++checks;
      if (nlohmann::json::parse(accepted, nullptr, /*allow_exceptions=*/false).is_discarded()) std::abort();
      JsonRecognizer whole(schema);
      if (!whole.feed(accepted) || !whole.is_complete()) std::abort();
    }
  }
  if (r.is_complete() && !r.can_continue() && r.feed(' ')) std::abort();
  return 0;
}
