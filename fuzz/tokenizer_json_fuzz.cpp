// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: a Hugging Face tokenizer.json loaded, then arbitrary text encoded and decoded
// with it, and the files written for it loaded back (input layout: tokenizer_fuzz_input.h).
#include "tokenizer_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto in = fragua::fuzz::split_tokenizer_input(data, size);
  auto tok = fragua::tokenize::Tokenizer::from_hf_json_text(in.file, "fuzz.json");
  if (tok.ok()) fragua::fuzz::exercise(*tok, in.text);
  return 0;
}
