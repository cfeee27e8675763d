// SPDX-License-Identifier: Apache-2.0
// SentencePiece-style vocabulary without merges for tests of chat code: <unk>, <s>, </s>, the 256
// byte tokens (ids 3-258) and the ChatML markers <|im_start|> (259) and <|im_end|> (260) as control
// tokens. Text encodes byte by byte, so a reply made of byte tokens encodes back to the same ids.
// Also spm_test_vocab, the frame the tests' other small vocabularies share.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "fragua/tokenize/tokenizer.h"

namespace fragua::test {

// A SentencePiece-style vocabulary without merges: <unk> (0), <s> (1, added as BOS), </s> (2), then
// `rest` in order, every score 0. The tests' small vocabularies differ only in `rest`.
inline tokenize::VocabSpec spm_test_vocab(const std::vector<std::pair<std::string, tokenize::TokenType>>& rest) {
  tokenize::VocabSpec s;
  s.kind = tokenize::ModelKind::spm;
  s.add_space_prefix = false;
  s.tokens = {"<unk>", "<s>", "</s>"};
  s.types = {tokenize::TokenType::unknown, tokenize::TokenType::control, tokenize::TokenType::control};
  for (const auto& [text, type] : rest) {
    s.tokens.push_back(text);
    s.types.push_back(type);
  }
  s.scores.assign(s.tokens.size(), 0.0f);
  s.unk_id = 0;
  s.bos_id = 1;
  s.eos_id = 2;
  s.add_bos = true;
  return s;
}

inline tokenize::VocabSpec byte_chatml_vocab() {
  std::vector<std::pair<std::string, tokenize::TokenType>> rest;
  for (int b = 0; b < 256; ++b) rest.emplace_back(fmt::format("<0x{:02X}>", b), tokenize::TokenType::byte);
  for (const char* t : {"<|im_start|>", "<|im_end|>"}) rest.emplace_back(t, tokenize::TokenType::control);
  return spm_test_vocab(rest);
}

}  // namespace fragua::test
