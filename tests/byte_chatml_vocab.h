// SPDX-License-Identifier: Apache-2.0
// SentencePiece-style vocabulary without merges for tests of chat code: <unk>, <s>, </s>, the 256
// byte tokens (ids 3-258) and the ChatML markers <|im_start|> (259) and <|im_end|> (260) as control
// tokens. Text encodes byte by byte, so a reply made of byte tokens encodes back to the same ids.
#pragma once

#include <fmt/format.h>

#include "fragua/tokenize/tokenizer.h"

namespace fragua::test {

inline tokenize::VocabSpec byte_chatml_vocab() {
  tokenize::VocabSpec s;
  s.kind = tokenize::ModelKind::spm;
  s.add_space_prefix = false;
  s.tokens = {"<unk>", "<s>", "</s>"};
  s.types = {tokenize::TokenType::unknown, tokenize::TokenType::control, tokenize::TokenType::control};
  for (int b = 0; b < 256; ++b) {
    s.tokens.push_back(fmt::format("<0x{:02X}>", b));
    s.types.push_back(tokenize::TokenType::byte);
  }
  for (const char* t : {"<|im_start|>", "<|im_end|>"}) {
    s.tokens.push_back(t);
    s.types.push_back(tokenize::TokenType::control);
  }
  s.scores.assign(s.tokens.size(), 0.0f);
  s.unk_id = 0;
  s.bos_id = 1;
  s.eos_id = 2;
  s.add_bos = true;
  return s;
}

}  // namespace fragua::test
