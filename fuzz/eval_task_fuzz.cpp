// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: benchmark task files (eval/task.h), untrusted text from whoever wrote the
// task. Input: a task YAML, then 0x1E, then the JSON-lines documents of its test split. What must
// hold: no crash, hang or sanitizer report; a parsed task renders every document or fails with an
// error; a rendered question has a gold index inside its choices; a list literal parses only into
// strings that the parser accepted whole; chrF and BLEU of any rendered target against the
// context stay within [0, 100].
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fragua/eval/task.h"
#include "fragua/eval/text_metrics.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fragua::eval;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t sep = in.find('\x1e');
  const std::string_view yaml = in.substr(0, sep);
  const std::string_view jsonl = sep == std::string_view::npos ? std::string_view() : in.substr(sep + 1);
  (void)parse_python_string_list(jsonl);
  auto task = parse_task(yaml, "fuzz.yaml");
  auto docs = parse_docs(jsonl, "fuzz.jsonl");
  if (!task.ok() || !docs.ok()) return 0;
  std::vector<const nlohmann::ordered_json*> shots;
  for (const auto& doc : *docs) {
    auto q = build_question(*task, doc, shots);
    if (q.ok() && task->output_type == "multiple_choice") check(q->gold < q->choices.size());
    if (q.ok() && task->output_type != "multiple_choice") {
      const double b = bleu_score(bleu_stats(q->target, {q->context})), c = chrf_score(chrf_stats(q->target, {q->context}));
      check(b >= 0 && b <= 100.0000001 && c >= 0 && c <= 100.0000001);
    }
    if (shots.size() < 2) shots.push_back(&doc);
  }
  return 0;
}
