// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: taxonomy qna.yaml leaves (community/taxonomy.h), untrusted text from any
// contributor. The first byte picks the kind (even: knowledge, odd: skill), the rest is the file.
// What must hold: no crash, hang or sanitizer report; every problem names the file and a position
// inside the input (line 0 only for whole-file problems); a leaf parsed without problems has at
// least the schema's minimum of seeds and pairs; the content checks run on whatever parsed.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fragua/community/taxonomy.h"

namespace {

void taxonomy_fuzz_check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fragua::community;
  if (size == 0) return 0;
  const LeafKind kind = (data[0] & 1) ? LeafKind::skill : LeafKind::knowledge;
  const std::string_view yaml(reinterpret_cast<const char*>(data) + 1, size - 1);
  int n_lines = 1;
  for (char c : yaml) n_lines += c == '\n';
  std::vector<Problem> problems;
  Leaf leaf = parse_leaf(yaml, "fuzz/qna.yaml", "knowledge/fuzz", kind, problems);
  for (const auto& p : problems) {
    taxonomy_fuzz_check(p.file == "fuzz/qna.yaml");
    taxonomy_fuzz_check(p.pos.line >= 0 && p.pos.line <= n_lines + 1);
    taxonomy_fuzz_check(!p.message.empty());
  }
  if (problems.empty()) {
    taxonomy_fuzz_check(leaf.version == 3 && !leaf.language.empty());
    if (kind == LeafKind::knowledge) {
      taxonomy_fuzz_check(leaf.seeds.size() >= kMinKnowledgeContexts);
      for (const auto& ex : leaf.seeds) taxonomy_fuzz_check(ex.qnas.size() >= kMinQnAPerContext);
    } else {
      taxonomy_fuzz_check(leaf.seeds.size() >= kMinSkillExamples);
    }
  }
  ValidateOptions options;
  options.max_context_tokens = 50;
  check_leaf_content(leaf, options, problems);
  return 0;
}
