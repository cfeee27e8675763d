// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the fine-tuning data `fragua finetune` and `fragua align` read (SFT chat
// JSONL, DPO pair JSONL), rendered with a built-in chat template and the byte vocabulary. An
// accepted conversation has one loss flag per token and at least one trained token; the rows
// pack_sft / dpo_rows build stay inside their length with targets in the vocabulary.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fragua/train/dpo.h"
#include "fragua/train/finetune.h"
#include "fragua/train/text_encoder.h"

namespace {

void check_finetune_rows(const fragua::train::PackedBatch& b, int32_t n_vocab) {
  if (b.tokens.size() != static_cast<size_t>(b.rows) * b.T || b.weights.size() != b.tokens.size()) std::abort();
  for (size_t i = 0; i < b.tokens.size(); ++i)
    if (b.targets[i] < 0 || b.targets[i] >= n_vocab || b.tokens[i] < 0 || b.tokens[i] >= n_vocab) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fragua;
  static const tokenize::Tokenizer tok = [] {
    auto t = train::make_byte_tokenizer();
    if (!t.ok()) std::abort();
    return std::move(*t);
  }();
  if (size < 1) return 0;
  static const char* const kTemplates[] = {"chatml", "llama3", "granite", "phi3"};
  const std::string tmpl = kTemplates[data[0] & 3];
  const bool dpo = data[0] & 4;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const int T = 8 + (data[0] >> 3);
  if (!dpo) {
    auto r = train::parse_sft_jsonl(text, "fuzz.jsonl", tok, tmpl);
    if (!r.ok()) return 0;
    for (const auto& ex : *r) {
      if (ex.loss.size() != ex.tokens.size()) std::abort();
      bool any = false;
      for (uint8_t f : ex.loss) any |= f != 0;
      if (!any) std::abort();
    }
    check_finetune_rows(train::pack_sft(*r, T, true), tok.n_vocab());
    check_finetune_rows(train::pack_sft(*r, T, false), tok.n_vocab());
  } else {
    auto r = train::parse_dpo_jsonl(text, "fuzz.jsonl", tok, tmpl);
    if (!r.ok()) return 0;
    auto rows = train::dpo_rows(*r, T);
    if (rows.rows != static_cast<int>(2 * r->size())) std::abort();
    check_finetune_rows(rows, tok.n_vocab());
  }
  return 0;
}
