// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the text SDG reads from elsewhere (community/sdg.h): teacher and judge replies
// (any model's output) and prompt files (--prompts DIR). Input: a prompt file, 0x1E, a reply.
// What must hold: no crash, hang or sanitizer report; a parsed pair's two parts are non-empty
// valid UTF-8 found inside the reply; a judge score is 1-5; a parsed prompt has a positive
// version and renders; a corrupted answer differs from the answer whenever one is produced.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fragua/base/utf8.h"
#include "fragua/community/sdg.h"

namespace {

void sdg_text_fuzz_check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fragua::community;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t sep = in.find('\x1e');
  const std::string_view prompt = in.substr(0, sep);
  const std::string reply(sep == std::string_view::npos ? std::string_view() : in.substr(sep + 1));
  auto t = parse_prompt_template(prompt, "fuzz.txt", "es", "fuzz");
  if (t.ok()) {
    sdg_text_fuzz_check(t->version > 0 && !t->user.empty());
    (void)t->render(t->user, {{"context", reply}, {"examples", "x"}});
  }
  auto pair = parse_labeled_pair(reply, "Pregunta", "Respuesta");
  if (pair.ok()) {
    sdg_text_fuzz_check(!pair->first.empty() && !pair->second.empty());
    sdg_text_fuzz_check(fragua::utf8::is_valid(pair->first) && fragua::utf8::is_valid(pair->second));
    sdg_text_fuzz_check(reply.find(pair->second) != std::string::npos);
  }
  auto score = parse_judge_score(reply, "Puntuación");
  if (score.ok()) sdg_text_fuzz_check(*score >= 1 && *score <= 5);
  std::string how;
  const std::string answer = reply.substr(0, reply.size() / 2), context = reply.substr(reply.size() / 2);
  std::string bad = corrupt_answer(answer, context, "otra", size, how);
  if (!bad.empty()) sdg_text_fuzz_check(bad != answer && !how.empty());
  return 0;
}
