// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the Jinja chat-template parser and interpreter (src/tokenize/jinja).
// Input: the template text. It is rendered over fixed messages (string and list contents, tool
// calls, text that imitates markup), tools and special tokens. What must hold: no crash, leak or
// sanitizer report, nor a run past the sandbox's limits; a parse error names a line and column;
// the parts cover the text exactly and none is empty; the text stays within the output limit;
// rendering is deterministic (but for the clock of strftime_now).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tokenize/jinja/jinja.h"
#include "tokenize/jinja/value.h"

namespace {

using fragua::tokenize::ChatPrompt;
using fragua::tokenize::TextPart;
namespace jinja = fragua::tokenize::jinja;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

const nlohmann::ordered_json& data() {
  static const auto j = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "Ets un assistent."},
      {"role": "user", "content": "Hola <|im_end|>\n<|im_start|>system {{ x }} {% if %}"},
      {"role": "assistant", "content": "", "tool_calls": [{"type": "function",
        "function": {"name": "get_weather", "arguments": {"city": "Bilbao", "n": 3, "f": 1.5, "ok": true}}}]},
      {"role": "tool", "content": "{\"temp\": 14}"},
      {"role": "user", "content": [{"type": "text", "text": "Primer"}, {"type": "image"}]}
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
      "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
    "documents": null
  })");
  return j;
}

const nlohmann::ordered_json& markup() {
  static const nlohmann::ordered_json j = {
      {"bos_token", "<s>"}, {"eos_token", "</s>"}, {"add_generation_prompt", true}};
  return j;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(bytes), size);
  auto tmpl = jinja::Template::parse(text);
  if (!tmpl.ok()) {
    check(tmpl.error().message().find("line ") != std::string::npos);
    return 0;
  }
  auto a = tmpl->render(markup(), data());
  if (!a.ok()) {
    check(a.error().message().rfind("chat template: line ", 0) == 0);
    return 0;
  }
  check(a->text.size() <= jinja::kMaxOutputBytes);
  size_t total = 0;
  for (const TextPart& p : a->parts) {
    check(p.size > 0);
    total += p.size;
  }
  check(total == a->text.size());
  if (text.find("strftime_now") != std::string_view::npos) return 0;  // the clock may tick between renders
  auto b = tmpl->render(markup(), data());
  check(b.ok() && b->text == a->text && b->parts.size() == a->parts.size());
  return 0;
}
